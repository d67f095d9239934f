#pragma once
/// For tests: a wallet's Ed25519 key made from a seed, the way tools/time_tx.py
/// makes them (private key = SHA3-256 of the seed's UTF-8 bytes), that signs
/// transactions as a TIME Coin wallet does (signature.hpp).
#include "node_key.hpp"
#include "signature.hpp"
#include "txid.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace eventnode::plugins::utxo::test_support {

class TestSigner {
 public:
  explicit TestSigner(std::string_view seed) : key_(NodeKey::fromSecret(sha3_256(seed))) {}

  const std::vector<std::uint8_t>& publicKey() const { return key_.publicKey(); }
  std::string address(std::string_view prefix = kTestnetPrefix) const { return addressOfKey(publicKey(), prefix); }
  std::vector<std::uint8_t> sign(std::string_view message) const { return key_.sign(message); }

  /// Puts this key on every input, recomputes the txid and signs every input.
  void signAll(Transaction& tx) const {
    for (auto& input : tx.inputs) input.public_key = publicKey();
    tx.txid = computeTxid(tx);
    const auto message = txidData(tx);
    for (auto& input : tx.inputs) input.signature = sign(message);
  }

 private:
  NodeKey key_;
};

}  // namespace eventnode::plugins::utxo::test_support
