#include "node_key.hpp"

#include "signature.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <stdexcept>
#include <string>

namespace eventnode::plugins::utxo {

NodeKey::NodeKey(EVP_PKEY* key) : key_(key, EVP_PKEY_free) {
  std::size_t length = kPublicKeySize;
  public_key_.resize(kPublicKeySize);
  if (EVP_PKEY_get_raw_public_key(key_.get(), public_key_.data(), &length) != 1 || length != kPublicKeySize) {
    throw std::invalid_argument("not an Ed25519 key");
  }
}

NodeKey NodeKey::fromPemFile(const std::filesystem::path& file) {
  std::unique_ptr<FILE, decltype(&std::fclose)> stream(std::fopen(file.c_str(), "r"), std::fclose);
  if (!stream) throw std::runtime_error("cannot read the private key file " + file.string());
  // No passphrase: without this callback OpenSSL would prompt on the terminal for an encrypted key.
  auto no_passphrase = [](char*, int, int, void*) { return 0; };
  EVP_PKEY* key = PEM_read_PrivateKey(stream.get(), nullptr, no_passphrase, nullptr);
  if (!key || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(key);
    throw std::runtime_error(
        file.string() +
        " is not an unencrypted PEM Ed25519 private key; make one with `openssl genpkey -algorithm ed25519 -out " +
        file.filename().string() + "`");
  }
  return NodeKey(key);
}

NodeKey NodeKey::fromSecret(std::string_view secret) {
  if (secret.size() != 32) throw std::invalid_argument("an Ed25519 secret is 32 bytes");
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                               reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  if (!key) throw std::runtime_error("OpenSSL could not make an Ed25519 key");
  return NodeKey(key);
}

std::vector<std::uint8_t> NodeKey::sign(std::string_view message) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::vector<std::uint8_t> signature(kSignatureSize);
  std::size_t length = signature.size();
  // Ed25519 hashes the message itself: no digest is named, and it is signed in one call.
  if (!context || EVP_DigestSignInit(context.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(context.get(), signature.data(), &length, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1) {
    throw std::runtime_error("Ed25519 signing failed");
  }
  return signature;
}

}  // namespace eventnode::plugins::utxo
