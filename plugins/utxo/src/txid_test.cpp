// The txid vectors: the byte layout is written out by hand field by field
// below, and the double SHA3-256 was checked with an independent
// implementation (Python's hashlib.sha3_256); docs/protocol.md shows both.
#include "txid.hpp"

#include <gtest/gtest.h>

namespace eventnode::plugins::utxo {
namespace {

// The bytes of hex written out by hand below (fromHex has its own test).
std::string bytes(std::string_view hex) {
  return fromHex(hex).value();
}

Transaction oneInputOneOutput() {
  Transaction tx;
  tx.version = 1;
  tx.inputs.push_back({{std::string(64, '0'), 0}, {1, 2, 3}, {9, 9}, 0xFFFFFFFF});
  tx.outputs.push_back({1000, "TIME0alice"});
  tx.lock_time = 0;
  tx.timestamp = 1700000000;
  return tx;
}

TEST(Sha3, MatchesTheNistVectors) {
  EXPECT_EQ(toHex(sha3_256("")), "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
  EXPECT_EQ(toHex(sha3_256("abc")), "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532");
}

TEST(Txid, DataIsTheFieldsInLittleEndianInOrder) {
  const std::string expected = bytes("01000000")             // version 1
                               + bytes("01000000")           // one input
                               + std::string(64, '0')        // previous txid, as UTF-8 text
                               + bytes("00000000")           // vout 0
                               + bytes("010203")             // public key bytes
                               + bytes("ffffffff")           // sequence
                               + bytes("01000000")           // one output
                               + bytes("e803000000000000")   // amount 1000 as u64
                               + "TIME0alice"                // address, as UTF-8 text
                               + bytes("00000000")           // lock_time 0
                               + bytes("00f1536500000000");  // timestamp 1700000000 as i64
  EXPECT_EQ(txidData(oneInputOneOutput()), expected);
  EXPECT_EQ(expected.size(), 117u);
}

TEST(Txid, IsTheDoubleSha3OfTheData) {
  EXPECT_EQ(computeTxid(oneInputOneOutput()), "27da7a420e73d8e969a62845973f9b01496ccaf532df596cd6d87d9550110319");
}

TEST(Txid, SignaturesAreNotPartOfIt) {
  auto tx = oneInputOneOutput();
  const auto before = computeTxid(tx);
  tx.inputs[0].signature = {1, 2, 3, 4, 5};
  EXPECT_EQ(computeTxid(tx), before);
}

TEST(Txid, CoversSeveralInputsOutputsAndANegativeTimestamp) {
  Transaction tx;
  tx.version = 1;
  tx.inputs.push_back({{std::string(64, '0'), 1}, {}, {}, 0});
  std::string ab;
  for (int i = 0; i < 32; ++i) ab += "ab";
  tx.inputs.push_back({{ab, 7}, {255}, {}, 5});
  tx.outputs.push_back({1, "TIME0bob"});
  tx.outputs.push_back({0xFFFFFFFFFFFFFFFFull, "TIME1carol"});
  tx.lock_time = 42;
  tx.timestamp = -1;
  EXPECT_EQ(toHex(txidData(tx)).substr(0, 16), "0100000002000000");
  EXPECT_EQ(toHex(txidData(tx)).substr(toHex(txidData(tx)).size() - 24), "2a000000ffffffffffffffff");
  EXPECT_EQ(computeTxid(tx), "57799e4d26e175a677ba4f259ef23b46503cf9981c6ae24d8746b765da50f167");
}

TEST(Hex, RoundTripsAndRefusesWhatIsNotHex) {
  const std::string raw("\x00\x7f\x80\xff", 4);
  EXPECT_EQ(toHex(raw), "007f80ff");
  EXPECT_EQ(fromHex("007f80ff"), raw);
  EXPECT_EQ(fromHex("007F80FF"), raw);
  EXPECT_EQ(fromHex(""), std::string());
  EXPECT_EQ(fromHex("abc"), std::nullopt);  // odd length
  EXPECT_EQ(fromHex("0g"), std::nullopt);   // not a hex digit
  EXPECT_EQ(fromHex("0x00"), std::nullopt);
}

}  // namespace
}  // namespace eventnode::plugins::utxo
