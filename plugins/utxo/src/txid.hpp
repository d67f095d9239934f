#pragma once
/// The TIME Coin transaction id: lowercase hex of SHA3-256(SHA3-256(data)),
/// where data is the transaction's fields in a fixed little-endian layout
/// (see computeTxid). Signatures are not part of it.
#include "transaction.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace eventnode::plugins::utxo {

/// data = version u32 LE ‖ input count u32 LE ‖ per input (previous txid as
/// UTF-8 ‖ vout u32 LE ‖ public_key ‖ sequence u32 LE) ‖ output count u32 LE ‖
/// per output (amount u64 LE ‖ address as UTF-8) ‖ lock_time u32 LE ‖ timestamp i64 LE.
std::string txidData(const Transaction& tx);
/// Lowercase hex of SHA3-256(SHA3-256(txidData(tx))).
std::string computeTxid(const Transaction& tx);
/// Raw 32-byte SHA3-256 digest.
std::string sha3_256(std::string_view data);
/// Lowercase hex of bytes.
std::string toHex(std::string_view bytes);
std::string toHex(std::span<const std::uint8_t> bytes);
/// The bytes of `hex` (either case); nullopt for an odd length or another character.
std::optional<std::string> fromHex(std::string_view hex);

}  // namespace eventnode::plugins::utxo
