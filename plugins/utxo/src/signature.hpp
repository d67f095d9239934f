#pragma once
/// Input signatures as TIME Coin wallets make them: Ed25519, each input
/// carrying its 32-byte public key and a 64-byte signature over txidData(tx)
/// (the bytes the txid is hashed from, which leave the signatures out). The
/// key owns one address: the network prefix and the first 40 hex characters of
/// the key (TIME Coin's public_key_to_address), so spending an output takes
/// the key of the address it was paid to.
#include "transaction.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace eventnode::plugins::utxo {

inline constexpr std::size_t kPublicKeySize = 32;
inline constexpr std::size_t kSignatureSize = 64;

/// Whether `signature` is `public_key`'s Ed25519 signature of `message`
/// (libsodium: canonical signatures only, no small-order keys). False for a
/// key or signature of the wrong length.
bool verifyEd25519(std::span<const std::uint8_t> public_key, std::string_view message,
                   std::span<const std::uint8_t> signature);

/// The address `public_key` owns on the network of `prefix`.
std::string addressOfKey(std::span<const std::uint8_t> public_key, std::string_view prefix);

/// Throws InputError naming the first input whose public_key or signature has
/// the wrong length or whose signature does not verify. Costs one Ed25519
/// verification per input (libsodium, 46-60 µs on the 2-core test machine): call it
/// off the engine's thread, where wallets' and peers' messages are parsed.
void requireValidSignatures(const Transaction& tx);

}  // namespace eventnode::plugins::utxo
