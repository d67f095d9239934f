#pragma once
// Program derived addresses, as Solana's find_program_address computes them,
// and the associated token account of a wallet (the ATA program's PDA).
#include "solana_keys.hpp"

#include <cstdint>
#include <span>
#include <vector>

namespace eventnode::plugins::meter {

/// Whether 32 bytes decompress to a point of the Ed25519 curve, in the sense
/// Solana's runtime uses (curve25519-dalek's `decompress().is_some()`): any
/// point on the curve counts, in the prime-order subgroup or not.
bool isOnCurve(const PublicKey& bytes);

struct ProgramAddress {
  PublicKey address{};
  std::uint8_t bump = 0;
};

/// sha256(seeds… || bump || program || "ProgramDerivedAddress") for bump 255
/// down to 0, the first result off the curve. Throws std::runtime_error in
/// the (never seen) case that no bump gives one.
ProgramAddress findProgramAddress(std::span<const std::span<const std::uint8_t>> seeds, const PublicKey& program);

/// The associated token account of `wallet` for `mint` under the SPL Token program.
PublicKey associatedTokenAddress(const PublicKey& wallet, const PublicKey& mint);

}  // namespace eventnode::plugins::meter
