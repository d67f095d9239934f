#include "p2p_auth.hpp"

#include "txid.hpp"

#include <gtest/gtest.h>

#include <string>

namespace eventnode::plugins::utxo {
namespace {

constexpr std::int64_t kNow = 1700000000;

NodeKey keyOf(const std::string& id) {
  return NodeKey::fromSecret(sha3_256("p2p-test-key:" + id));
}

// mn1 and mn2, each knowing the other's public key.
struct Pair {
  P2pAuthenticator mn1{Network::Testnet, "mn1", keyOf("mn1"), {{"mn2", keyOf("mn2").publicKey()}}};
  P2pAuthenticator mn2{Network::Testnet, "mn2", keyOf("mn2"), {{"mn1", keyOf("mn1").publicKey()}}};
};

P2pHandshake handshakeFrom(const std::string& id, std::int64_t timestamp = kNow) {
  P2pHandshake handshake;
  handshake.node_id = id;
  handshake.timestamp = timestamp;
  return handshake;
}

TEST(P2pAuth, BothSidesOfAnHonestHandshakeCheckOut) {
  Pair pair;
  auto dial = handshakeFrom("mn1");
  pair.mn1.signDial(dial, "mn2");
  EXPECT_EQ(dial.nonce.size(), 64u);
  EXPECT_EQ(dial.signature.size(), 128u);
  EXPECT_EQ(pair.mn2.checkDial(dial, kNow + 5), "");
  auto answer = handshakeFrom("mn2");
  pair.mn2.signAccept(answer, dial);
  EXPECT_EQ(pair.mn1.checkAccept(answer, dial), "");
}

TEST(P2pAuth, TheAcceptorRefusesEachBadDial) {
  struct Case {
    const char* name;
    void (*spoil)(P2pHandshake&);
    std::int64_t now;
    const char* expected;
  };
  const Case cases[] = {
      {"no signature (a peer without authentication)",
       [](P2pHandshake& h) {
         h.nonce.clear();
         h.signature.clear();
       },
       kNow, "handshake nonce must be 64 hex characters"},
      {"signature not hex", [](P2pHandshake& h) { h.signature = std::string(128, 'z'); }, kNow,
       "handshake signature must be 128 hex characters"},
      {"another timestamp than the signed one", [](P2pHandshake& h) { h.timestamp += 1; }, kNow,
       "handshake signature does not verify under mn1's configured public key"},
      {"another nonce than the signed one", [](P2pHandshake& h) { h.nonce[0] = h.nonce[0] == 'a' ? 'b' : 'a'; }, kNow,
       "does not verify"},
      {"signed by a key that is not mn1's",
       [](P2pHandshake& h) {
         const auto signature = keyOf("mallory").sign("eventnode-p2p-v1 dial testnet mn1 mn2 " +
                                                      std::to_string(h.timestamp) + " " + h.nonce);
         h.signature = toHex(signature);
       },
       kNow, "does not verify"},
      {"a clock 61 s behind", [](P2pHandshake&) {}, kNow + 61,
       "handshake timestamp is 61 s from this masternode's clock (at most 60 s)"},
      {"a node with no key", [](P2pHandshake& h) { h.node_id = "mn9"; }, kNow,
       "handshake node_id mn9 has no configured public key"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Pair pair;
    auto dial = handshakeFrom("mn1");
    pair.mn1.signDial(dial, "mn2");
    c.spoil(dial);
    EXPECT_NE(pair.mn2.checkDial(dial, c.now).find(c.expected), std::string::npos) << pair.mn2.checkDial(dial, c.now);
  }
}

TEST(P2pAuth, ADialSignedForAnotherAcceptorIsRefused) {
  P2pAuthenticator mn1{Network::Testnet, "mn1", keyOf("mn1"), {}};
  P2pAuthenticator mn3{Network::Testnet, "mn3", keyOf("mn3"), {{"mn1", keyOf("mn1").publicKey()}}};
  auto dial = handshakeFrom("mn1");
  mn1.signDial(dial, "mn2");  // captured on its way to mn2, shown to mn3
  EXPECT_NE(mn3.checkDial(dial, kNow).find("does not verify"), std::string::npos);
}

TEST(P2pAuth, AReplayedDialIsRefusedOnceItsNonceWasSeen) {
  Pair pair;
  auto dial = handshakeFrom("mn1");
  pair.mn1.signDial(dial, "mn2");
  EXPECT_EQ(pair.mn2.checkDial(dial, kNow), "");
  EXPECT_EQ(pair.mn2.checkDial(dial, kNow + 1), "handshake nonce was used before (a replayed handshake)");
  // Past the window the timestamp itself is refused, so forgetting the nonce is safe.
  EXPECT_NE(pair.mn2.checkDial(dial, kNow + 121).find("timestamp"), std::string::npos);
}

TEST(P2pAuth, TheDialerRefusesAnAnswerToAnotherNonce) {
  Pair pair;
  auto first = handshakeFrom("mn1");
  pair.mn1.signDial(first, "mn2");
  auto answer = handshakeFrom("mn2");
  pair.mn2.signAccept(answer, first);
  auto second = handshakeFrom("mn1");
  pair.mn1.signDial(second, "mn2");
  // An old answer replayed to a new dial does not sign the new nonce.
  EXPECT_NE(pair.mn1.checkAccept(answer, second).find("does not verify under mn2's"), std::string::npos);
}

}  // namespace
}  // namespace eventnode::plugins::utxo
