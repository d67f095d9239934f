#pragma once
// Solana public keys and keypairs as the minting code holds them: raw bytes,
// with base58 text only at the edges (config, RPC, events).
#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace eventnode::plugins::meter {

using PublicKey = std::array<std::uint8_t, 32>;
using Signature = std::array<std::uint8_t, 64>;

inline constexpr std::string_view kTokenProgram = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
inline constexpr std::string_view kAssociatedTokenProgram = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL";
inline constexpr std::string_view kSystemProgram = "11111111111111111111111111111111";

/// A 32-byte key from base58; nullopt when the text is not base58 of exactly 32 bytes.
std::optional<PublicKey> parsePublicKey(std::string_view base58);
/// A 64-byte signature from base58; nullopt when it is not base58 of exactly 64 bytes.
std::optional<Signature> parseSignature(std::string_view base58);
/// A key known to be valid (the program ids above); throws std::invalid_argument otherwise.
PublicKey publicKey(std::string_view base58);

std::string toBase58(const PublicKey& key);
std::string toBase58(const Signature& signature);

/// An Ed25519 keypair in libsodium's (and the Solana CLI's) layout: the
/// 64-byte secret is the 32-byte seed followed by the public key.
struct Keypair {
  std::array<std::uint8_t, 64> secret{};
  PublicKey public_key{};
};

/// Reads a Solana CLI keypair file (a JSON array of 64 numbers 0..255) and
/// checks that its second half is the public key of its first. Throws
/// std::invalid_argument naming the file and what is wrong with it.
Keypair loadKeypairFile(const std::filesystem::path& file);

}  // namespace eventnode::plugins::meter
