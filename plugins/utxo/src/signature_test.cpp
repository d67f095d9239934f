#include "signature.hpp"

#include "test_signer.hpp"
#include "txid.hpp"

#include <gtest/gtest.h>

#include <string>

namespace eventnode::plugins::utxo {
namespace {

using test_support::TestSigner;

std::vector<std::uint8_t> keyBytes(std::string_view hex) {
  const auto bytes = fromHex(hex).value();
  return {bytes.begin(), bytes.end()};
}

// docs/utxo.md "Signatures", vector 3: txid vector 2 with the key whose 32 private bytes are
// SHA3-256("alice"). Also computed with the openssl CLI (`openssl pkeyutl -sign -rawin`) and by
// tools/time_tx.py (python3-cryptography).
constexpr std::string_view kAlicePublicKey = "5c4a5832d8e73a6b6c314ae6770b6657f42397f732eb19f60f5a9bbc2a492015";
constexpr std::string_view kVectorTxid = "cd85bf1c816d13af320f1621bb9d1fbdc6d3294f5fea35a6c12001febaf64748";
constexpr std::string_view kVectorSignature =
    "eadbf98b9bb9ed9e6e48ccdabec4d716bed1b45f37b4e81416d6b47ca379f5ad"
    "9a589591c139602ad48967b70e568c002d5b01d7b9ed37bc66ce85431da38407";

Transaction vectorTransaction() {
  Transaction tx;
  tx.inputs.push_back({{"ab", 1}, keyBytes(kAlicePublicKey), keyBytes(kVectorSignature), 0xFFFFFFFF});
  tx.outputs.push_back({1000, "TIME0" + std::string(40, '0')});
  tx.timestamp = 1700000000;
  tx.txid = computeTxid(tx);
  return tx;
}

TEST(Signatures, TheDocumentedVectorVerifies) {
  const auto tx = vectorTransaction();
  EXPECT_EQ(tx.txid, kVectorTxid);
  EXPECT_NO_THROW(requireValidSignatures(tx));
  EXPECT_EQ(TestSigner("alice").publicKey(), keyBytes(kAlicePublicKey));
  // Ed25519 signatures are deterministic: the test signer reproduces the vector.
  EXPECT_EQ(TestSigner("alice").sign(txidData(tx)), keyBytes(kVectorSignature));
}

TEST(Signatures, AKeyOwnsThePrefixAndTheFirstFortyHexCharacters) {
  EXPECT_EQ(addressOfKey(keyBytes(kAlicePublicKey), kTestnetPrefix), "TIME05c4a5832d8e73a6b6c314ae6770b6657f42397f7");
  EXPECT_EQ(addressOfKey(keyBytes(kAlicePublicKey), kMainnetPrefix), "TIME15c4a5832d8e73a6b6c314ae6770b6657f42397f7");
}

void expectRefused(const Transaction& tx, const std::string& expected) {
  try {
    requireValidSignatures(tx);
    ADD_FAILURE() << "accepted; expected: " << expected;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
  }
}

TEST(Signatures, EachBadFormIsRefusedNamingTheInput) {
  struct Case {
    const char* name;
    void (*spoil)(Transaction&);
    const char* expected;
  };
  const Case cases[] = {
      {"one bit of the signature flipped", [](Transaction& tx) { tx.inputs[0].signature[10] ^= 1; },
       "inputs[0].signature does not verify"},
      {"the transaction changed after signing (amount)",
       [](Transaction& tx) {
         tx.outputs[0].amount = 999;
         tx.txid = computeTxid(tx);
       },
       "inputs[0].signature does not verify"},
      {"signed by another key",
       [](Transaction& tx) { tx.inputs[0].signature = TestSigner("mallory").sign(txidData(tx)); },
       "inputs[0].signature does not verify"},
      {"a stand-in signature of zeros", [](Transaction& tx) { tx.inputs[0].signature.assign(64, 0); },
       "inputs[0].signature does not verify"},
      {"a short signature", [](Transaction& tx) { tx.inputs[0].signature.resize(63); },
       "inputs[0].signature must be a 64-byte Ed25519 signature, not 63 bytes"},
      {"no signature", [](Transaction& tx) { tx.inputs[0].signature.clear(); },
       "inputs[0].signature must be a 64-byte Ed25519 signature, not 0 bytes"},
      {"a 33-byte public key", [](Transaction& tx) { tx.inputs[0].public_key.push_back(0); },
       "inputs[0].public_key must be a 32-byte Ed25519 public key, not 33 bytes"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto tx = vectorTransaction();
    c.spoil(tx);
    expectRefused(tx, c.expected);
  }
}

TEST(Signatures, EveryInputIsCheckedNotOnlyTheFirst) {
  Transaction tx;
  tx.inputs.push_back({{std::string(64, 'a'), 0}, {}, {}, 0xFFFFFFFF});
  tx.inputs.push_back({{std::string(64, 'b'), 1}, {}, {}, 0xFFFFFFFF});
  tx.outputs.push_back({5, "TIME0bob"});
  TestSigner("alice").signAll(tx);
  EXPECT_NO_THROW(requireValidSignatures(tx));
  tx.inputs[1].signature[0] ^= 0x80;
  expectRefused(tx, "inputs[1].signature does not verify");
}

TEST(Signatures, EveryInputsShapeIsCheckedBeforeAnySignatureIsVerified) {
  Transaction tx;
  tx.inputs.push_back({{std::string(64, 'a'), 0}, {}, {}, 0xFFFFFFFF});
  tx.inputs.push_back({{std::string(64, 'b'), 1}, {}, {}, 0xFFFFFFFF});
  tx.outputs.push_back({5, "TIME0bob"});
  TestSigner("alice").signAll(tx);
  tx.inputs[0].signature[0] ^= 0x80;     // would fail verification
  tx.inputs[1].public_key.resize(1024);  // but the size of input 1 is refused first
  expectRefused(tx, "inputs[1].public_key must be a 32-byte Ed25519 public key, not 1024 bytes");
  EXPECT_THROW(requireSignatureShapes(tx), InputError);
  tx.inputs[1].public_key.resize(32);
  EXPECT_NO_THROW(requireSignatureShapes(tx));  // shapes only: no verification
}

TEST(Signatures, InputsSharingAKeyAndSignatureAreAllAcceptedOrAllRefused) {
  // One wallet key spending many outputs signs each input with the same
  // deterministic signature; the pair is verified once, with the same answer
  // it would give for every input.
  Transaction tx;
  for (std::uint32_t vout = 0; vout < 200; ++vout) tx.inputs.push_back({{std::string(64, 'a'), vout}, {}, {}, 0});
  tx.outputs.push_back({5, "TIME0bob"});
  TestSigner("alice").signAll(tx);
  for (const auto& input : tx.inputs) ASSERT_EQ(input.signature, tx.inputs[0].signature);
  EXPECT_NO_THROW(requireValidSignatures(tx));

  // A different pair on a later input is verified on its own.
  auto mixed = tx;
  mixed.inputs[150].public_key = TestSigner("bob").publicKey();
  mixed.txid = computeTxid(mixed);
  const auto message = txidData(mixed);
  for (auto& input : mixed.inputs) input.signature = TestSigner("alice").sign(message);
  expectRefused(mixed, "inputs[150].signature does not verify");
  mixed.inputs[150].signature = TestSigner("bob").sign(message);
  EXPECT_NO_THROW(requireValidSignatures(mixed));
}

}  // namespace
}  // namespace eventnode::plugins::utxo
