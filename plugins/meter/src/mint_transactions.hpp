#pragma once
// The minting transactions: SPL Token MintToChecked to each wallet's
// associated token account, preceded by the ATA program's CreateIdempotent
// where the account may not exist yet, packed as many to a transaction as
// Solana's 1,232 bytes allow.
#include "solana_transaction.hpp"

#include <cstdint>
#include <vector>

namespace eventnode::plugins::meter {

/// One mint the batch owes: `amount` base units to `wallet`'s token account.
struct MintOrder {
  std::int64_t mint_id = 0;  ///< the store's id for it, carried through
  PublicKey wallet{};
  PublicKey token_account{};  ///< associatedTokenAddress(wallet, mint), derived once by the caller
  std::uint64_t amount = 0;
  bool create_account = true;  ///< add CreateIdempotent (the account is not known to exist)
};

struct MintSetup {
  PublicKey mint{};
  std::uint8_t decimals = 9;
  PublicKey authority{};  ///< signs the mints and pays the fees
};

/// ATA program `CreateIdempotent` (instruction 1): creates the account unless it exists.
Instruction createAssociatedTokenAccountIdempotent(const PublicKey& payer, const PublicKey& token_account,
                                                   const PublicKey& wallet, const PublicKey& mint);
/// SPL Token `MintToChecked` (instruction 14): amount u64 little-endian, then decimals.
Instruction mintToChecked(const PublicKey& mint, const PublicKey& destination, const PublicKey& authority,
                          std::uint64_t amount, std::uint8_t decimals);

/// The instructions of `orders`, in order, under one blockhash.
Message mintMessage(const MintSetup& setup, const std::vector<MintOrder>& orders, const PublicKey& blockhash);

/// Splits `orders` into groups, in order, each the most that fits one
/// transaction. A single order always fits (about 300 bytes).
std::vector<std::vector<MintOrder>> packMintOrders(const MintSetup& setup, const std::vector<MintOrder>& orders);

}  // namespace eventnode::plugins::meter
