// A masternode's inbound P2P stream (plugins/utxo): the magic bytes and
// length-prefixed frames (p2p_codec.hpp), each frame read as a handshake and
// as a message, and the message's content parsed the way PeerProtocol and the
// HTTP API parse it: transactions, votes, outpoints, addresses.
//
// A transaction's txid is a SHA3-256 of its contents, which the fuzzer cannot
// guess; when that is the one thing wrong, the transaction is parsed again
// with the txid the refusal names, so the checks behind it run as well.
#include "fuzz_support.hpp"

#include "p2p_codec.hpp"
#include "signature.hpp"
#include "transaction.hpp"

#include <exception>
#include <string>

using eventnode::fuzz::require;
using eventnode::plugin::Json;
namespace utxo = eventnode::plugins::utxo;

namespace {

constexpr std::size_t kMaxFrameBytes = 64 * 1024;
constexpr std::string_view kPrefix = utxo::kTestnetPrefix;

void checkTransaction(const utxo::Transaction& tx) {
  const utxo::TransactionLimits limits;
  require(utxo::isValidTxid(tx.txid), "an accepted transaction has a valid txid");
  require(!tx.inputs.empty() && tx.inputs.size() <= limits.max_inputs, "input count within limits");
  require(!tx.outputs.empty() && tx.outputs.size() <= limits.max_outputs, "output count within limits");
  for (const auto& output : tx.outputs) require(utxo::isValidAddress(output.address, kPrefix), "valid addresses");
  // What the node relays to its peers is read back by them as the same transaction.
  const auto again = utxo::parseTransaction(utxo::toJson(tx), kPrefix);
  require(again.txid == tx.txid && utxo::toJson(again) == utxo::toJson(tx), "a transaction round-trips");
}

void parseTransaction(const Json& body) {
  try {
    checkTransaction(utxo::parseTransaction(body, kPrefix));
  } catch (const utxo::InputError& e) {
    const std::string_view message = e.what();
    const auto computed = message.find("computed ");
    if (computed == std::string_view::npos || !body.is_object()) return;
    auto fixed = body;
    fixed["txid"] = std::string(message.substr(computed + 9));
    try {
      const auto tx = utxo::parseTransaction(fixed, kPrefix);
      checkTransaction(tx);
      utxo::requireSignatureShapes(tx);
    } catch (const utxo::InputError&) {
    }
  }
}

void parseContent(utxo::P2pMessageKind kind, const Json& content) {
  using Kind = utxo::P2pMessageKind;
  try {
    switch (kind) {
      case Kind::TransactionBroadcast:
        parseTransaction(content);
        break;
      case Kind::InstantFinalityVote:
        (void)utxo::parseVote(content);
        break;
      case Kind::UTXOStateQuery:
      case Kind::UTXOSubscribe:
        for (const auto& item : content.value("outpoints", Json::array())) (void)utxo::parseOutPoint(item);
        for (const auto& item : content.value("addresses", Json::array())) {
          if (item.is_string()) utxo::requireAddress(item.get<std::string>(), kPrefix, "addresses[]");
        }
        break;
      default:
        break;
    }
  } catch (const utxo::InputError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  utxo::P2pFrameDecoder decoder(kMaxFrameBytes, utxo::p2pMagic(utxo::Network::Testnet));
  eventnode::fuzz::Chunker chunks(data, size);
  try {
    for (auto read = chunks.next(); !read.empty(); read = chunks.next()) {
      decoder.feed(read);
      Json body;
      for (auto status = decoder.next(body); status != utxo::P2pFrameDecoder::Status::NeedMore;
           status = decoder.next(body)) {
        if (status == utxo::P2pFrameDecoder::Status::Error) {
          require(!decoder.error().empty(), "a refused stream says why");
          require(decoder.next(body) == utxo::P2pFrameDecoder::Status::Error, "a failed decoder stays failed");
          return 0;
        }
        require(body.is_object() || body == "Ping" || body == "Pong", "frames are objects, Ping or Pong");
        std::string error;
        if (const auto handshake = utxo::parseP2pHandshake(body, error)) {
          require(!handshake->node_id.empty(), "a handshake names its node");
          require(handshake->protocol_version == utxo::kP2pProtocolVersion, "a handshake has our version");
        }
        error.clear();
        if (const auto kind = utxo::checkP2pMessage(body, error); kind && body.is_object()) {
          parseContent(*kind, body.begin().value());
        }
      }
      require(decoder.buffered() <= size, "the decoder holds no more than it was fed");
    }
  } catch (const std::exception& e) {
    // PeerProtocol and the HTTP API answer InputError; anything else is a bug in a parser.
    std::fprintf(stderr, "unexpected exception: %s\n", e.what());
    require(false, "the utxo parsers refuse only with InputError");
  }
  return 0;
}
