#include "mint_transactions.hpp"

namespace eventnode::plugins::meter {

Instruction createAssociatedTokenAccountIdempotent(const PublicKey& payer, const PublicKey& token_account,
                                                   const PublicKey& wallet, const PublicKey& mint) {
  static const PublicKey ata_program = publicKey(kAssociatedTokenProgram);
  static const PublicKey system = publicKey(kSystemProgram);
  static const PublicKey token = publicKey(kTokenProgram);
  return {ata_program,
          {{payer, true, true},
           {token_account, false, true},
           {wallet, false, false},
           {mint, false, false},
           {system, false, false},
           {token, false, false}},
          {1}};
}

Instruction mintToChecked(const PublicKey& mint, const PublicKey& destination, const PublicKey& authority,
                          std::uint64_t amount, std::uint8_t decimals) {
  static const PublicKey token = publicKey(kTokenProgram);
  std::vector<std::uint8_t> data{14};
  for (int i = 0; i < 8; ++i) data.push_back(static_cast<std::uint8_t>(amount >> (8 * i)));
  data.push_back(decimals);
  return {token, {{mint, false, true}, {destination, false, true}, {authority, true, false}}, std::move(data)};
}

Message mintMessage(const MintSetup& setup, const std::vector<MintOrder>& orders, const PublicKey& blockhash) {
  Message message{setup.authority, blockhash, {}};
  for (const auto& order : orders) {
    if (order.create_account) {
      message.instructions.push_back(
          createAssociatedTokenAccountIdempotent(setup.authority, order.token_account, order.wallet, setup.mint));
    }
    message.instructions.push_back(
        mintToChecked(setup.mint, order.token_account, setup.authority, order.amount, setup.decimals));
  }
  return message;
}

std::vector<std::vector<MintOrder>> packMintOrders(const MintSetup& setup, const std::vector<MintOrder>& orders) {
  std::vector<std::vector<MintOrder>> groups;
  const PublicKey any_blockhash{};  // the size does not depend on its value
  for (const auto& order : orders) {
    if (!groups.empty()) {
      auto candidate = groups.back();
      candidate.push_back(order);
      if (transactionSize(mintMessage(setup, candidate, any_blockhash)) <= kMaxTransactionBytes) {
        groups.back() = std::move(candidate);
        continue;
      }
    }
    groups.push_back({order});
  }
  return groups;
}

}  // namespace eventnode::plugins::meter
