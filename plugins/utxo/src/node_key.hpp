#pragma once
/// An Ed25519 private key and what it signs with: a masternode's P2P identity
/// (p2p.private_key_file) and, in tests, a wallet's key. Signing goes through
/// OpenSSL; verification is signature.hpp's (libsodium). Immutable after
/// construction, so any thread may sign.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>
#include <vector>

struct evp_pkey_st;

namespace eventnode::plugins::utxo {

class NodeKey {
 public:
  /// Reads a PEM private key as `openssl genpkey -algorithm ed25519` writes
  /// it (unencrypted). Throws std::runtime_error naming the file and what is
  /// wrong with it.
  static NodeKey fromPemFile(const std::filesystem::path& file);
  /// The key whose 32 private bytes are `secret`. Throws std::invalid_argument
  /// for another length.
  static NodeKey fromSecret(std::string_view secret);

  /// The 32 bytes of the public key.
  const std::vector<std::uint8_t>& publicKey() const { return public_key_; }
  /// The 64-byte Ed25519 signature of `message`.
  std::vector<std::uint8_t> sign(std::string_view message) const;

 private:
  explicit NodeKey(evp_pkey_st* key);
  std::shared_ptr<evp_pkey_st> key_;
  std::vector<std::uint8_t> public_key_;
};

}  // namespace eventnode::plugins::utxo
