#include "solana_transaction.hpp"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace eventnode::plugins::meter {
namespace {

struct CompiledKey {
  PublicKey key{};
  bool signer = false;
  bool writable = false;
};

int rank(const CompiledKey& k) {
  if (k.signer) return k.writable ? 0 : 1;
  return k.writable ? 2 : 3;
}

std::vector<CompiledKey> orderedKeys(const Message& message) {
  std::vector<CompiledKey> keys{{message.fee_payer, true, true}};
  const auto add = [&](const PublicKey& key, bool signer, bool writable) {
    auto it = std::find_if(keys.begin(), keys.end(), [&](const CompiledKey& k) { return k.key == key; });
    if (it == keys.end()) {
      keys.push_back({key, signer, writable});
    } else {
      it->signer = it->signer || signer;
      it->writable = it->writable || writable;
    }
  };
  for (const auto& instruction : message.instructions) {
    for (const auto& account : instruction.accounts) add(account.key, account.signer, account.writable);
    add(instruction.program, false, false);
  }
  // Stable: within a class, first use decides, and the fee payer stays first.
  std::stable_sort(keys.begin() + 1, keys.end(),
                   [](const CompiledKey& a, const CompiledKey& b) { return rank(a) < rank(b); });
  for (std::size_t i = 1; i < keys.size(); ++i) {
    if (keys[i].signer) {
      throw std::invalid_argument("an instruction needs signer " + toBase58(keys[i].key) +
                                  ", but only the fee payer signs these transactions");
    }
  }
  return keys;
}

std::uint8_t indexOf(const std::vector<CompiledKey>& keys, const PublicKey& key) {
  const auto it = std::find_if(keys.begin(), keys.end(), [&](const CompiledKey& k) { return k.key == key; });
  return static_cast<std::uint8_t>(it - keys.begin());
}

}  // namespace

void appendCompactU16(std::vector<std::uint8_t>& out, std::uint16_t value) {
  while (true) {
    auto byte = static_cast<std::uint8_t>(value & 0x7f);
    value = static_cast<std::uint16_t>(value >> 7);
    if (value == 0) {
      out.push_back(byte);
      return;
    }
    out.push_back(byte | 0x80);
  }
}

std::vector<std::uint8_t> compileMessage(const Message& message) {
  const auto keys = orderedKeys(message);
  if (keys.size() > 256) throw std::invalid_argument("a legacy message holds at most 256 account keys");
  std::uint8_t readonly_unsigned = 0;
  for (const auto& k : keys) readonly_unsigned += (!k.signer && !k.writable) ? 1 : 0;
  std::vector<std::uint8_t> out;
  out.reserve(kMaxTransactionBytes);
  out.push_back(1);  // required signatures: the fee payer
  out.push_back(0);  // read-only signers
  out.push_back(readonly_unsigned);
  appendCompactU16(out, static_cast<std::uint16_t>(keys.size()));
  for (const auto& k : keys) out.insert(out.end(), k.key.begin(), k.key.end());
  out.insert(out.end(), message.recent_blockhash.begin(), message.recent_blockhash.end());
  appendCompactU16(out, static_cast<std::uint16_t>(message.instructions.size()));
  for (const auto& instruction : message.instructions) {
    out.push_back(indexOf(keys, instruction.program));
    appendCompactU16(out, static_cast<std::uint16_t>(instruction.accounts.size()));
    for (const auto& account : instruction.accounts) out.push_back(indexOf(keys, account.key));
    appendCompactU16(out, static_cast<std::uint16_t>(instruction.data.size()));
    out.insert(out.end(), instruction.data.begin(), instruction.data.end());
  }
  return out;
}

std::size_t transactionSize(const Message& message) {
  return 1 + 64 + compileMessage(message).size();  // one signature: count byte + 64
}

SignedTransaction signTransaction(const Message& message, const Keypair& fee_payer) {
  if (fee_payer.public_key != message.fee_payer) {
    throw std::invalid_argument("the keypair " + toBase58(fee_payer.public_key) + " is not the fee payer " +
                                toBase58(message.fee_payer));
  }
  const auto body = compileMessage(message);
  if (1 + 64 + body.size() > kMaxTransactionBytes) {
    throw std::invalid_argument("transaction of " + std::to_string(1 + 64 + body.size()) + " bytes exceeds Solana's " +
                                std::to_string(kMaxTransactionBytes));
  }
  SignedTransaction signed_tx;
  crypto_sign_detached(signed_tx.signature.data(), nullptr, body.data(), body.size(), fee_payer.secret.data());
  signed_tx.wire.reserve(1 + 64 + body.size());
  signed_tx.wire.push_back(1);
  signed_tx.wire.insert(signed_tx.wire.end(), signed_tx.signature.begin(), signed_tx.signature.end());
  signed_tx.wire.insert(signed_tx.wire.end(), body.begin(), body.end());
  return signed_tx;
}

}  // namespace eventnode::plugins::meter
