#include "p2p_codec.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace eventnode::plugins::utxo {
namespace {

using plugin::Json;

// Length headers and frames built by hand, independent of the encoder under test.
std::string header(std::uint32_t length) {
  return std::string{static_cast<char>((length >> 24) & 0xFF), static_cast<char>((length >> 16) & 0xFF),
                     static_cast<char>((length >> 8) & 0xFF), static_cast<char>(length & 0xFF)};
}

std::string rawFrame(const std::string& text) {
  return header(static_cast<std::uint32_t>(text.size())) + text;
}

Json validHandshake() {
  return Json::parse(
      R"({"node_id":"mn1","network":"testnet","protocol_version":1,"listen_addr":"127.0.0.1:24100","timestamp":1700000000})");
}

TEST(P2pCodec, MagicBytesMatchTheReadme) {
  EXPECT_EQ(p2pMagic(Network::Testnet), (P2pMagic{0x7E, 0x57, 0x7E, 0x4D}));
  EXPECT_EQ(p2pMagic(Network::Mainnet), (P2pMagic{0xC0, 0x1D, 0x7E, 0x4D}));
  EXPECT_EQ(encodeP2pMagic(Network::Testnet), std::string("\x7E\x57\x7E\x4D", 4));
  EXPECT_EQ(encodeP2pMagic(Network::Mainnet), std::string("\xC0\x1D\x7E\x4D", 4));
}

TEST(P2pCodec, NetworkNamesRoundTrip) {
  for (Network network : {Network::Testnet, Network::Mainnet}) {
    EXPECT_EQ(parseNetworkName(networkName(network)), network);
  }
  EXPECT_FALSE(parseNetworkName("Testnet"));
  EXPECT_FALSE(parseNetworkName(""));
}

TEST(P2pCodec, EncoderWritesBigEndianLengthThenCompactJson) {
  const std::string frame = encodeP2pFrame(Json("Ping"));
  EXPECT_EQ(frame, std::string("\x00\x00\x00\x06\"Ping\"", 10));

  Json big = {{"UTXOStateResponse", {{"states", std::string(70000, 'x')}}}};
  const std::string encoded = encodeP2pFrame(big);
  const std::string text = big.dump();
  ASSERT_EQ(encoded.size(), 4 + text.size());
  EXPECT_EQ(encoded.substr(0, 4), header(static_cast<std::uint32_t>(text.size())).substr(0, 4));
  EXPECT_EQ(encoded.substr(4), text);
}

TEST(P2pCodec, EncoderRefusesBodiesOverTheMaximum) {
  const Json body = {{"TransactionBroadcast", {{"pad", std::string(100, 'a')}}}};
  EXPECT_THROW(encodeP2pFrame(body, 50), std::length_error);
  EXPECT_NO_THROW(encodeP2pFrame(body, body.dump().size()));
}

TEST(P2pCodec, FramesRoundTripThroughTheDecoder) {
  const std::vector<Json> bodies = {
      Json("Ping"),
      Json("Pong"),
      Json{{"TransactionBroadcast", {{"txid", "ab"}, {"inputs", Json::array()}}}},
      Json{{"InstantFinalityVote", {{"txid", "ab"}, {"voter", "mn2"}, {"approve", true}}}},
      Json{{"UTXOStateQuery", {{"outpoints", Json::array({{{"txid", "ab"}, {"vout", 0}}})}}}},
      Json{{"UTXOStateResponse", {{"states", "{\"a\":1}"}}}},
      Json{{"UTXOStateNotification", {{"notification", "\u00e9t\u00e9"}}}},
      Json{{"UTXOSubscribe", {{"outpoints", Json::array()}, {"addresses", {"TIME0x"}}, {"subscriber_id", "w"}}}},
      Json{{"UTXOUnsubscribe", {{"subscriber_id", "w"}}}},
      validHandshake(),
  };
  std::string stream;
  for (const auto& body : bodies) stream += encodeP2pFrame(body);

  P2pFrameDecoder decoder;
  decoder.feed(stream);
  for (const auto& expected : bodies) {
    Json got;
    ASSERT_EQ(decoder.next(got), P2pFrameDecoder::Status::Frame) << decoder.error();
    EXPECT_EQ(got, expected);
  }
  Json none;
  EXPECT_EQ(decoder.next(none), P2pFrameDecoder::Status::NeedMore);
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(P2pCodec, DecoderAssemblesFramesFedByteByByte) {
  const Json first = {{"InstantFinalityVote", {{"txid", "ab"}, {"approve", false}}}};
  const Json second = Json("Pong");
  const std::string stream = encodeP2pMagic(Network::Mainnet) + encodeP2pFrame(validHandshake()) +
                             encodeP2pFrame(first) + encodeP2pFrame(second);

  P2pFrameDecoder decoder(kP2pDefaultMaxFrameBytes, p2pMagic(Network::Mainnet));
  std::vector<Json> frames;
  for (char byte : stream) {
    decoder.feed(&byte, 1);
    Json body;
    for (;;) {
      const auto status = decoder.next(body);
      ASSERT_NE(status, P2pFrameDecoder::Status::Error) << decoder.error();
      if (status == P2pFrameDecoder::Status::NeedMore) break;
      frames.push_back(body);
    }
  }
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0], validHandshake());
  EXPECT_EQ(frames[1], first);
  EXPECT_EQ(frames[2], second);
}

TEST(P2pCodec, DecoderWaitsForAWholeLengthAndBody) {
  P2pFrameDecoder decoder;
  Json body;
  const std::string frame = encodeP2pFrame(Json("Ping"));
  decoder.feed(frame.substr(0, 3));
  EXPECT_EQ(decoder.next(body), P2pFrameDecoder::Status::NeedMore);
  decoder.feed(frame.substr(3, 5));
  EXPECT_EQ(decoder.next(body), P2pFrameDecoder::Status::NeedMore);
  decoder.feed(frame.substr(8));
  EXPECT_EQ(decoder.next(body), P2pFrameDecoder::Status::Frame);
  EXPECT_EQ(body, Json("Ping"));
}

struct BadStream {
  const char* name;
  std::string bytes;
  std::size_t max_frame;
  bool expect_magic;
  const char* error_contains;
};

TEST(P2pCodec, DecoderRefusesEveryBadStreamWithAReason) {
  const std::string testnet = encodeP2pMagic(Network::Testnet);
  const std::vector<BadStream> cases = {
      {"mainnet magic on testnet", encodeP2pMagic(Network::Mainnet) + encodeP2pFrame(validHandshake()),
       kP2pDefaultMaxFrameBytes, true, "wrong magic: got C0 1D 7E 4D, expected 7E 57 7E 4D"},
      {"wrong first magic byte alone", std::string("\x7F", 1), kP2pDefaultMaxFrameBytes, true, "wrong magic: got 7F"},
      {"HTTP instead of magic", "GET / HTTP/1.1\r\n", kP2pDefaultMaxFrameBytes, true, "wrong magic"},
      {"zero length", header(0), kP2pDefaultMaxFrameBytes, false, "frame length is zero"},
      {"length over default max", header(10u * 1024 * 1024 + 1), kP2pDefaultMaxFrameBytes, false,
       "frame length 10485761 exceeds the maximum of 10485760"},
      {"length over configured max", header(101), 100, false, "exceeds the maximum of 100"},
      {"length over max after magic", testnet + header(0xFFFFFFFF), kP2pDefaultMaxFrameBytes, true,
       "frame length 4294967295 exceeds"},
      {"garbage JSON", rawFrame("{not json"), kP2pDefaultMaxFrameBytes, false, "frame is refused: not valid JSON"},
      {"truncated JSON", rawFrame("{\"a\":"), kP2pDefaultMaxFrameBytes, false, "frame is refused: not valid JSON"},
      {"JSON with trailing bytes", rawFrame("{} x"), kP2pDefaultMaxFrameBytes, false, "frame is refused: not valid JSON"},
      {"array body", rawFrame("[1,2]"), kP2pDefaultMaxFrameBytes, false, "frame is a JSON array"},
      {"number body", rawFrame("42"), kP2pDefaultMaxFrameBytes, false, "frame is a JSON number"},
      {"null body", rawFrame("null"), kP2pDefaultMaxFrameBytes, false, "frame is a JSON null"},
      {"unknown string", rawFrame("\"Hello\""), kP2pDefaultMaxFrameBytes, false, "frame is the string \"Hello\""},
      {"lowercase ping", rawFrame("\"ping\""), kP2pDefaultMaxFrameBytes, false, "only \"Ping\" and \"Pong\""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    P2pFrameDecoder decoder(c.max_frame, c.expect_magic ? std::optional(p2pMagic(Network::Testnet)) : std::nullopt);
    decoder.feed(c.bytes);
    Json body;
    auto status = decoder.next(body);
    // Some cases need a frame before the bad one to be consumed first.
    while (status == P2pFrameDecoder::Status::Frame) status = decoder.next(body);
    ASSERT_EQ(status, P2pFrameDecoder::Status::Error);
    EXPECT_NE(decoder.error().find(c.error_contains), std::string::npos) << decoder.error();
    // Out of sync for good: more bytes do not revive it.
    decoder.feed(encodeP2pFrame(Json("Ping")));
    EXPECT_EQ(decoder.next(body), P2pFrameDecoder::Status::Error);
  }
}

TEST(P2pCodec, OversizedLengthIsRefusedBeforeTheBodyArrives) {
  P2pFrameDecoder decoder(1024);
  decoder.feed(header(2048));
  Json body;
  EXPECT_EQ(decoder.next(body), P2pFrameDecoder::Status::Error);
}

TEST(P2pCodec, EveryVariantIsAcceptedAsAMessage) {
  const std::vector<std::pair<Json, P2pMessageKind>> cases = {
      {Json("Ping"), P2pMessageKind::Ping},
      {Json("Pong"), P2pMessageKind::Pong},
      {Json{{"TransactionBroadcast", Json::object()}}, P2pMessageKind::TransactionBroadcast},
      {Json{{"InstantFinalityVote", Json::object()}}, P2pMessageKind::InstantFinalityVote},
      {Json{{"UTXOStateQuery", Json::object()}}, P2pMessageKind::UTXOStateQuery},
      {Json{{"UTXOStateResponse", Json::object()}}, P2pMessageKind::UTXOStateResponse},
      {Json{{"UTXOStateNotification", Json::object()}}, P2pMessageKind::UTXOStateNotification},
      {Json{{"UTXOSubscribe", Json::object()}}, P2pMessageKind::UTXOSubscribe},
      {Json{{"UTXOUnsubscribe", Json::object()}}, P2pMessageKind::UTXOUnsubscribe},
  };
  for (const auto& [body, kind] : cases) {
    std::string error;
    const auto got = checkP2pMessage(body, error);
    ASSERT_TRUE(got) << body.dump() << ": " << error;
    EXPECT_EQ(*got, kind);
    EXPECT_EQ(p2pMessageKindName(kind), body.is_string() ? body.get<std::string>() : body.begin().key());
  }
}

TEST(P2pCodec, MalformedMessagesAreRefusedWithAReason) {
  const std::vector<std::pair<Json, const char*>> cases = {
      {Json("Hello"), "unknown string message \"Hello\""},
      {Json(7), "message is a JSON number"},
      {Json::array({"Ping"}), "message is a JSON array"},
      {Json::object(), "message object has 0 keys"},
      {Json{{"TransactionBroadcast", Json::object()}, {"InstantFinalityVote", Json::object()}},
       "message object has 2 keys"},
      {Json{{"Ping", Json::object()}}, "unknown message variant \"Ping\""},
      {Json{{"Handshake", Json::object()}}, "unknown message variant \"Handshake\""},
      {Json{{"TransactionBroadcast", "tx"}}, "variant TransactionBroadcast holds a JSON string"},
      {Json{{"UTXOStateQuery", Json::array()}}, "variant UTXOStateQuery holds a JSON array"},
      {Json{{"UTXOUnsubscribe", nullptr}}, "variant UTXOUnsubscribe holds a JSON null"},
      {validHandshake(), "message object has 5 keys"},
  };
  for (const auto& [body, expected] : cases) {
    SCOPED_TRACE(body.dump());
    std::string error;
    EXPECT_FALSE(checkP2pMessage(body, error));
    EXPECT_NE(error.find(expected), std::string::npos) << error;
  }
}

TEST(P2pCodec, HandshakeIsBuiltExactlyAsDocumented) {
  P2pHandshake handshake;
  handshake.node_id = "mn1";
  handshake.network = Network::Testnet;
  handshake.listen_addr = "127.0.0.1:24100";
  handshake.timestamp = 1700000000;
  EXPECT_EQ(buildP2pHandshake(handshake), validHandshake());

  std::string error;
  const auto parsed = parseP2pHandshake(buildP2pHandshake(handshake), error);
  ASSERT_TRUE(parsed) << error;
  EXPECT_EQ(parsed->node_id, "mn1");
  EXPECT_EQ(parsed->network, Network::Testnet);
  EXPECT_EQ(parsed->protocol_version, 1);
  EXPECT_EQ(parsed->listen_addr, "127.0.0.1:24100");
  EXPECT_EQ(parsed->timestamp, 1700000000);
}

TEST(P2pCodec, AnAuthenticatedHandshakeCarriesItsNonceAndSignature) {
  P2pHandshake handshake;
  handshake.node_id = "mn1";
  handshake.listen_addr = "127.0.0.1:24100";
  handshake.timestamp = 1700000000;
  handshake.nonce = std::string(64, 'a');
  handshake.signature = std::string(128, 'b');
  Json expected = validHandshake();
  expected["nonce"] = handshake.nonce;
  expected["signature"] = handshake.signature;
  EXPECT_EQ(buildP2pHandshake(handshake), expected);
  std::string error;
  const auto parsed = parseP2pHandshake(expected, error);
  ASSERT_TRUE(parsed) << error;
  EXPECT_EQ(parsed->nonce, handshake.nonce);
  EXPECT_EQ(parsed->signature, handshake.signature);
}

TEST(P2pCodec, HandshakeIgnoresUnknownKeys) {
  Json body = validHandshake();
  body["agent"] = "timed/0.1";
  std::string error;
  EXPECT_TRUE(parseP2pHandshake(body, error)) << error;
}

TEST(P2pCodec, BadHandshakesAreRefusedNamingTheField) {
  auto with = [](const char* key, Json value) {
    Json body = validHandshake();
    body[key] = std::move(value);
    return body;
  };
  auto without = [](const char* key) {
    Json body = validHandshake();
    body.erase(key);
    return body;
  };
  const std::vector<std::pair<Json, const char*>> cases = {
      {Json("Ping"), "handshake is a JSON string"},
      {without("node_id"), "handshake has no node_id"},
      {without("network"), "handshake has no network"},
      {without("protocol_version"), "handshake has no protocol_version"},
      {without("listen_addr"), "handshake has no listen_addr"},
      {without("timestamp"), "handshake has no timestamp"},
      {with("node_id", 5), "handshake node_id is a JSON number, expected a string"},
      {with("node_id", ""), "handshake node_id is empty"},
      {with("network", "regtest"), "handshake network \"regtest\" is neither"},
      {with("network", true), "handshake network is a JSON boolean"},
      {with("protocol_version", 2), "handshake protocol_version 2 is not supported (expected 1)"},
      {with("protocol_version", "1"), "handshake protocol_version is a JSON string, expected an integer"},
      {with("protocol_version", 1.5), "handshake protocol_version is a JSON number, expected an integer"},
      {with("listen_addr", nullptr), "handshake listen_addr is a JSON null"},
      {with("timestamp", "now"), "handshake timestamp is a JSON string"},
      {with("nonce", 42), "handshake nonce is a JSON number, expected a string"},
      {with("signature", Json::array()), "handshake signature is a JSON array, expected a string"},
  };
  for (const auto& [body, expected] : cases) {
    SCOPED_TRACE(body.dump());
    std::string error;
    EXPECT_FALSE(parseP2pHandshake(body, error));
    EXPECT_NE(error.find(expected), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace eventnode::plugins::utxo
