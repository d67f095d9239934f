#pragma once
/// For tests: an Ed25519 key pair made from a seed, the way tools/time_tx.py
/// makes them (private key = SHA3-256 of the seed's UTF-8 bytes), that signs
/// transactions as a TIME Coin wallet does (signature.hpp).
#include "signature.hpp"
#include "txid.hpp"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace eventnode::plugins::utxo::test_support {

class TestSigner {
 public:
  explicit TestSigner(std::string_view seed) {
    const auto secret = sha3_256(seed);
    key_.reset(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                            reinterpret_cast<const unsigned char*>(secret.data()), secret.size()));
    std::size_t length = kPublicKeySize;
    public_key_.resize(kPublicKeySize);
    if (!key_ || EVP_PKEY_get_raw_public_key(key_.get(), public_key_.data(), &length) != 1) {
      throw std::runtime_error("cannot make an Ed25519 test key");
    }
  }

  const std::vector<std::uint8_t>& publicKey() const { return public_key_; }
  std::string address(std::string_view prefix = kTestnetPrefix) const { return addressOfKey(public_key_, prefix); }

  std::vector<std::uint8_t> sign(std::string_view message) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    std::vector<std::uint8_t> signature(kSignatureSize);
    std::size_t length = signature.size();
    if (!context || EVP_DigestSignInit(context.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
        EVP_DigestSign(context.get(), signature.data(), &length,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
      throw std::runtime_error("Ed25519 signing failed");
    }
    return signature;
  }

  /// Puts this key on every input, recomputes the txid and signs every input.
  void signAll(Transaction& tx) const {
    for (auto& input : tx.inputs) input.public_key = public_key_;
    tx.txid = computeTxid(tx);
    const auto message = txidData(tx);
    for (auto& input : tx.inputs) input.signature = sign(message);
  }

 private:
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key_{nullptr, EVP_PKEY_free};
  std::vector<std::uint8_t> public_key_;
};

}  // namespace eventnode::plugins::utxo::test_support
