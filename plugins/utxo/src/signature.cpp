#include "signature.hpp"

#include "txid.hpp"

#include <sodium.h>

#include <set>
#include <string_view>

namespace eventnode::plugins::utxo {
namespace {

constexpr std::size_t kAddressHexChars = 40;

}  // namespace

bool verifyEd25519(std::span<const std::uint8_t> public_key, std::string_view message,
                   std::span<const std::uint8_t> signature) {
  if (public_key.size() != kPublicKeySize || signature.size() != kSignatureSize) return false;
  // Idempotent and thread-safe; picks the fastest code for this CPU once.
  static const bool ready = sodium_init() >= 0;
  return ready && crypto_sign_verify_detached(signature.data(), reinterpret_cast<const unsigned char*>(message.data()),
                                              message.size(), public_key.data()) == 0;
}

std::string addressOfKey(std::span<const std::uint8_t> public_key, std::string_view prefix) {
  return std::string(prefix) + toHex(public_key).substr(0, kAddressHexChars);
}

void requireSignatureShapes(const Transaction& tx) {
  for (std::size_t i = 0; i < tx.inputs.size(); ++i) {
    const auto& input = tx.inputs[i];
    const auto field = "inputs[" + std::to_string(i) + "]";
    if (input.public_key.size() != kPublicKeySize) {
      throw InputError(field + ".public_key must be a " + std::to_string(kPublicKeySize) +
                       "-byte Ed25519 public key, not " + std::to_string(input.public_key.size()) + " bytes");
    }
    if (input.signature.size() != kSignatureSize) {
      throw InputError(field + ".signature must be a " + std::to_string(kSignatureSize) +
                       "-byte Ed25519 signature, not " + std::to_string(input.signature.size()) + " bytes");
    }
  }
}

void requireValidSignatures(const Transaction& tx) {
  requireSignatureShapes(tx);
  const auto message = txidData(tx);
  std::set<std::string> verified;  // public_key ‖ signature
  for (std::size_t i = 0; i < tx.inputs.size(); ++i) {
    const auto& input = tx.inputs[i];
    std::string pair(input.public_key.begin(), input.public_key.end());
    pair.append(input.signature.begin(), input.signature.end());
    if (verified.contains(pair)) continue;
    const auto field = "inputs[" + std::to_string(i) + "]";
    if (!verifyEd25519(input.public_key, message, input.signature)) {
      throw InputError(field + ".signature does not verify: it must be the Ed25519 signature, by " + field +
                       ".public_key, of the bytes the txid is hashed from");
    }
    verified.insert(std::move(pair));
  }
}

}  // namespace eventnode::plugins::utxo
