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
/// the wrong length. Costs nothing worth counting: call it before the ledger
/// look-ups and requireValidSignatures.
void requireSignatureShapes(const Transaction& tx);

/// Throws InputError naming the first input whose public_key or signature has
/// the wrong length or whose signature does not verify. The signed bytes are
/// serialized once per transaction, and each distinct (public_key, signature)
/// pair is verified once: a wallet spending several outputs of one address
/// signs them all with one key, and Ed25519 signatures are deterministic, so
/// those inputs carry the same pair. Otherwise one Ed25519 verification per
/// input (libsodium, 46-60 µs on the 2-core test machine, plus hashing the
/// signed bytes: pure Ed25519 hashes the key and the signature's R ahead of
/// the message, so no input can reuse another's hash). Call it off the
/// engine's thread, where wallets' and peers' messages are parsed, and after
/// the cheaper checks (sizes, counts, outpoints).
void requireValidSignatures(const Transaction& tx);

}  // namespace eventnode::plugins::utxo
