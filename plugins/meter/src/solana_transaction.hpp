#pragma once
// Legacy Solana transactions, built and signed here: the message layout
// (header, account keys, recent blockhash, compiled instructions) and the
// wire form (compact-u16 signature count, signatures, message).
#include "solana_keys.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace eventnode::plugins::meter {

/// The largest transaction a Solana node accepts (IPv6 MTU minus headers).
inline constexpr std::size_t kMaxTransactionBytes = 1232;

struct AccountMeta {
  PublicKey key{};
  bool signer = false;
  bool writable = false;
};

struct Instruction {
  PublicKey program{};
  std::vector<AccountMeta> accounts;
  std::vector<std::uint8_t> data;
};

/// A message signed by one key, the fee payer (the only signer the meter needs).
struct Message {
  PublicKey fee_payer{};
  PublicKey recent_blockhash{};
  std::vector<Instruction> instructions;
};

/// Solana's compact-u16 (1 to 3 bytes, 7 bits each, low first).
void appendCompactU16(std::vector<std::uint8_t>& out, std::uint16_t value);

/// The message bytes the signatures cover. Accounts are ordered as the
/// runtime requires: writable signers (the fee payer first), read-only
/// signers, writable non-signers, read-only non-signers (programs), each key
/// once with the union of its flags. Throws std::invalid_argument when an
/// instruction needs a signer other than the fee payer.
std::vector<std::uint8_t> compileMessage(const Message& message);

/// The size of the signed transaction for `message`, without signing it.
std::size_t transactionSize(const Message& message);

struct SignedTransaction {
  Signature signature{};           ///< the fee payer's: the transaction's id
  std::vector<std::uint8_t> wire;  ///< what sendTransaction takes (base64 of it)
};

/// Compiles and signs with the fee payer's keypair (Ed25519, libsodium).
/// Throws std::invalid_argument when the keypair is not the fee payer's or
/// the transaction is larger than kMaxTransactionBytes.
SignedTransaction signTransaction(const Message& message, const Keypair& fee_payer);

}  // namespace eventnode::plugins::meter
