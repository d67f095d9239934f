#include "p2p_codec.hpp"

#include "transaction.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <utility>

namespace eventnode::plugins::utxo {
namespace {

using plugin::Json;

constexpr P2pMagic kTestnetMagic{0x7E, 0x57, 0x7E, 0x4D};
constexpr P2pMagic kMainnetMagic{0xC0, 0x1D, 0x7E, 0x4D};
constexpr std::size_t kLengthBytes = 4;

struct KindName {
  P2pMessageKind kind;
  std::string_view name;
};

// Ping and Pong are strings on the wire, the rest are object keys; one table
// keeps the names in a single place.
constexpr std::array<KindName, 9> kKindNames{{
    {P2pMessageKind::Ping, "Ping"},
    {P2pMessageKind::Pong, "Pong"},
    {P2pMessageKind::TransactionBroadcast, "TransactionBroadcast"},
    {P2pMessageKind::InstantFinalityVote, "InstantFinalityVote"},
    {P2pMessageKind::UTXOStateQuery, "UTXOStateQuery"},
    {P2pMessageKind::UTXOStateResponse, "UTXOStateResponse"},
    {P2pMessageKind::UTXOStateNotification, "UTXOStateNotification"},
    {P2pMessageKind::UTXOSubscribe, "UTXOSubscribe"},
    {P2pMessageKind::UTXOUnsubscribe, "UTXOUnsubscribe"},
}};

std::string hexBytes(const std::uint8_t* bytes, std::size_t size) {
  std::string out;
  for (std::size_t i = 0; i < size; ++i) {
    char cell[4];
    std::snprintf(cell, sizeof cell, "%02X", bytes[i]);
    if (i) out += ' ';
    out += cell;
  }
  return out;
}

std::string jsonTypeName(const Json& value) {
  return value.type_name();
}

// Bodies can be megabytes; an error message quotes only the start.
std::string excerpt(const Json& value) {
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > 60) text = text.substr(0, 60) + "...";
  return text;
}

}  // namespace

P2pMagic p2pMagic(Network network) {
  return network == Network::Mainnet ? kMainnetMagic : kTestnetMagic;
}

std::string_view networkName(Network network) {
  return network == Network::Mainnet ? "mainnet" : "testnet";
}

std::optional<Network> parseNetworkName(std::string_view name) {
  if (name == "testnet") return Network::Testnet;
  if (name == "mainnet") return Network::Mainnet;
  return std::nullopt;
}

std::string_view p2pMessageKindName(P2pMessageKind kind) {
  for (const auto& entry : kKindNames) {
    if (entry.kind == kind) return entry.name;
  }
  return "?";
}

std::optional<P2pMessageKind> checkP2pMessage(const Json& body, std::string& error) {
  if (body.is_string()) {
    const auto& text = body.get_ref<const std::string&>();
    if (text == "Ping") return P2pMessageKind::Ping;
    if (text == "Pong") return P2pMessageKind::Pong;
    error = "unknown string message " + excerpt(body) + " (only \"Ping\" and \"Pong\" are strings)";
    return std::nullopt;
  }
  if (!body.is_object()) {
    error = "message is a JSON " + jsonTypeName(body) + ", expected an object or \"Ping\"/\"Pong\"";
    return std::nullopt;
  }
  if (body.size() != 1) {
    error = "message object has " + std::to_string(body.size()) + " keys, expected exactly one variant name";
    return std::nullopt;
  }
  const auto it = body.begin();
  const std::string& key = it.key();
  const Json& value = it.value();
  for (const auto& entry : kKindNames) {
    if (entry.kind == P2pMessageKind::Ping || entry.kind == P2pMessageKind::Pong) continue;
    if (key != entry.name) continue;
    if (!value.is_object()) {
      error = "variant " + key + " holds a JSON " + jsonTypeName(value) + ", expected an object";
      return std::nullopt;
    }
    return entry.kind;
  }
  error = "unknown message variant \"" + key + "\"";
  return std::nullopt;
}

Json buildP2pHandshake(const P2pHandshake& handshake) {
  Json body{{"node_id", handshake.node_id},
            {"network", std::string(networkName(handshake.network))},
            {"protocol_version", handshake.protocol_version},
            {"listen_addr", handshake.listen_addr},
            {"timestamp", handshake.timestamp}};
  if (!handshake.nonce.empty()) body["nonce"] = handshake.nonce;
  if (!handshake.signature.empty()) body["signature"] = handshake.signature;
  return body;
}

std::optional<P2pHandshake> parseP2pHandshake(const Json& body, std::string& error) {
  if (!body.is_object()) {
    error = "handshake is a JSON " + jsonTypeName(body) + ", expected an object";
    return std::nullopt;
  }
  auto field = [&](const char* name, bool (Json::*is_type)() const noexcept, const char* type) -> const Json* {
    auto it = body.find(name);
    if (it == body.end()) {
      error = std::string("handshake has no ") + name;
      return nullptr;
    }
    if (!((*it).*is_type)()) {
      error = std::string("handshake ") + name + " is a JSON " + jsonTypeName(*it) + ", expected " + type;
      return nullptr;
    }
    return &*it;
  };
  const Json* node_id = field("node_id", &Json::is_string, "a string");
  if (!node_id) return std::nullopt;
  const Json* network = field("network", &Json::is_string, "a string");
  if (!network) return std::nullopt;
  const Json* version = field("protocol_version", &Json::is_number_integer, "an integer");
  if (!version) return std::nullopt;
  const Json* listen_addr = field("listen_addr", &Json::is_string, "a string");
  if (!listen_addr) return std::nullopt;
  const Json* timestamp = field("timestamp", &Json::is_number_integer, "an integer");
  if (!timestamp) return std::nullopt;

  P2pHandshake out;
  out.node_id = node_id->get<std::string>();
  if (out.node_id.empty()) {
    error = "handshake node_id is empty";
    return std::nullopt;
  }
  auto parsed_network = parseNetworkName(network->get_ref<const std::string&>());
  if (!parsed_network) {
    error = "handshake network " + excerpt(*network) + " is neither \"testnet\" nor \"mainnet\"";
    return std::nullopt;
  }
  out.network = *parsed_network;
  out.protocol_version = version->get<std::int64_t>();
  if (out.protocol_version != kP2pProtocolVersion) {
    error = "handshake protocol_version " + std::to_string(out.protocol_version) + " is not supported (expected " +
            std::to_string(kP2pProtocolVersion) + ")";
    return std::nullopt;
  }
  out.listen_addr = listen_addr->get<std::string>();
  out.timestamp = timestamp->get<std::int64_t>();
  for (auto [name, target] : {std::pair{"nonce", &out.nonce}, std::pair{"signature", &out.signature}}) {
    if (!body.contains(name)) continue;
    const Json* value = field(name, &Json::is_string, "a string");
    if (!value) return std::nullopt;
    *target = value->get<std::string>();
  }
  return out;
}

std::string encodeP2pMagic(Network network) {
  const auto magic = p2pMagic(network);
  return std::string(magic.begin(), magic.end());
}

std::string encodeP2pFrame(const Json& body, std::size_t max_frame_bytes) {
  std::string frame(kLengthBytes, '\0');
  // Invalid UTF-8 in a string would make dump() throw mid-send; replacing it
  // keeps one bad field from failing a whole broadcast.
  frame += body.dump(-1, ' ', false, Json::error_handler_t::replace);
  const std::size_t length = frame.size() - kLengthBytes;
  if (length > max_frame_bytes) {
    throw std::length_error("P2P frame of " + std::to_string(length) + " bytes exceeds the maximum of " +
                            std::to_string(max_frame_bytes));
  }
  frame[0] = static_cast<char>((length >> 24) & 0xFF);
  frame[1] = static_cast<char>((length >> 16) & 0xFF);
  frame[2] = static_cast<char>((length >> 8) & 0xFF);
  frame[3] = static_cast<char>(length & 0xFF);
  return frame;
}

P2pFrameDecoder::P2pFrameDecoder(std::size_t max_frame_bytes, std::optional<P2pMagic> expected_magic)
    : max_frame_bytes_(max_frame_bytes), expected_magic_(expected_magic) {}

void P2pFrameDecoder::feed(const char* data, std::size_t size) {
  if (!error_.empty()) return;
  // Compact only when the consumed prefix dominates, so a run of small frames
  // does not move the buffer once per frame.
  if (pos_ > 0 && pos_ * 2 >= buffer_.size()) {
    buffer_.erase(0, pos_);
    pos_ = 0;
  }
  buffer_.append(data, size);
}

P2pFrameDecoder::Status P2pFrameDecoder::fail(std::string message) {
  error_ = std::move(message);
  buffer_.clear();
  pos_ = 0;
  return Status::Error;
}

P2pFrameDecoder::Status P2pFrameDecoder::next(Json& body) {
  if (!error_.empty()) return Status::Error;
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(buffer_.data());

  if (expected_magic_) {
    // Compare what has arrived so far: a wrong first byte is refused at once
    // instead of waiting for four bytes that may never come.
    const std::size_t have = std::min(buffered(), expected_magic_->size());
    if (!std::equal(bytes + pos_, bytes + pos_ + have, expected_magic_->begin())) {
      const auto actual = hexBytes(bytes + pos_, have);
      const auto expected = hexBytes(expected_magic_->data(), expected_magic_->size());
      return fail("wrong magic: got " + actual + ", expected " + expected);
    }
    if (have < expected_magic_->size()) return Status::NeedMore;
    pos_ += expected_magic_->size();
    expected_magic_.reset();
  }

  if (buffered() < kLengthBytes) return Status::NeedMore;
  const std::size_t length = (std::size_t{bytes[pos_]} << 24) | (std::size_t{bytes[pos_ + 1]} << 16) |
                             (std::size_t{bytes[pos_ + 2]} << 8) | std::size_t{bytes[pos_ + 3]};
  if (length == 0) return fail("frame length is zero");
  // Refused from the header alone, before buffering what a hostile peer claims.
  if (length > max_frame_bytes_) {
    return fail("frame length " + std::to_string(length) + " exceeds the maximum of " +
                std::to_string(max_frame_bytes_));
  }
  if (buffered() < kLengthBytes + length) return Status::NeedMore;

  const char* begin = buffer_.data() + pos_ + kLengthBytes;
  auto read = plugin::readJson(std::string_view(begin, length), {.max_values = kMaxTransactionJsonValues});
  if (!read.ok()) return fail("frame is refused: " + read.error);
  auto& parsed = read.value;
  pos_ += kLengthBytes + length;
  if (parsed.is_string()) {
    const auto& text = parsed.get_ref<const std::string&>();
    if (text != "Ping" && text != "Pong") {
      return fail("frame is the string " + excerpt(parsed) + ", only \"Ping\" and \"Pong\" may be strings");
    }
  } else if (!parsed.is_object()) {
    return fail("frame is a JSON " + jsonTypeName(parsed) + ", expected an object or \"Ping\"/\"Pong\"");
  }
  body = std::move(parsed);
  return Status::Frame;
}

}  // namespace eventnode::plugins::utxo
