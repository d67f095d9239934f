#include "solana_keys.hpp"

#include "spl_token.hpp"  // base58, shared with solana_listener

#include <eventnode/plugin/json.hpp>

#include <sodium.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace eventnode::plugins::meter {
namespace {

template <std::size_t N>
std::optional<std::array<std::uint8_t, N>> parseFixed(std::string_view base58) {
  // base58 of N bytes is at most ~1.37 N characters; anything longer cannot be one.
  const auto bytes = solana_listener::base58Decode(base58, N * 2);
  if (!bytes || bytes->size() != N) return std::nullopt;
  std::array<std::uint8_t, N> out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

}  // namespace

std::optional<PublicKey> parsePublicKey(std::string_view base58) {
  return parseFixed<32>(base58);
}

std::optional<Signature> parseSignature(std::string_view base58) {
  return parseFixed<64>(base58);
}

PublicKey publicKey(std::string_view base58) {
  const auto key = parsePublicKey(base58);
  if (!key) throw std::invalid_argument("'" + std::string(base58) + "' is not a base58 public key of 32 bytes");
  return *key;
}

std::string toBase58(const PublicKey& key) {
  return solana_listener::base58Encode(key);
}

std::string toBase58(const Signature& signature) {
  return solana_listener::base58Encode(signature);
}

Keypair loadKeypairFile(const std::filesystem::path& file) {
  const auto fail = [&](const std::string& what) {
    return std::invalid_argument("keypair file " + file.string() + ": " + what +
                                 "; expected a Solana CLI keypair file (a JSON array of 64 numbers)");
  };
  std::ifstream in(file);
  if (!in) throw fail("cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  const auto read = plugin::readJson(text.str(), {.max_bytes = 4096});
  if (!read.ok()) throw fail(read.error);
  const auto& array = read.value;
  if (!array.is_array() || array.size() != 64) throw fail("it is not an array of 64 numbers");
  Keypair keypair;
  for (std::size_t i = 0; i < 64; ++i) {
    if (!array[i].is_number_unsigned() || array[i].get<unsigned>() > 255)
      throw fail("entry " + std::to_string(i) + " is not 0..255");
    keypair.secret[i] = static_cast<std::uint8_t>(array[i].get<unsigned>());
  }
  if (sodium_init() < 0) throw std::runtime_error("libsodium cannot initialise");
  PublicKey derived{};
  std::array<std::uint8_t, 64> expanded{};
  crypto_sign_seed_keypair(derived.data(), expanded.data(), keypair.secret.data());
  sodium_memzero(expanded.data(), expanded.size());
  if (!std::equal(derived.begin(), derived.end(), keypair.secret.begin() + 32)) {
    throw fail("its last 32 bytes are not the public key of its first 32");
  }
  keypair.public_key = derived;
  return keypair;
}

}  // namespace eventnode::plugins::meter
