#include "mint_transactions.hpp"

#include "solana_pda.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

namespace eventnode::plugins::meter {
namespace {

Keypair keypairFromSeed(std::uint8_t fill) {
  std::array<std::uint8_t, 32> seed{};
  seed.fill(fill);
  Keypair keypair;
  crypto_sign_seed_keypair(keypair.public_key.data(), keypair.secret.data(), seed.data());
  return keypair;
}

MintSetup setupFor(const Keypair& authority) {
  return {publicKey("So11111111111111111111111111111111111111112"), 9, authority.public_key};
}

MintOrder orderFor(std::uint8_t fill, std::uint64_t amount, bool create) {
  const auto wallet = keypairFromSeed(fill).public_key;
  return {fill, wallet, associatedTokenAddress(wallet, publicKey("So11111111111111111111111111111111111111112")),
          amount, create};
}

TEST(CompactU16, EncodesAsSolanaDoes) {
  const std::pair<std::uint16_t, std::vector<std::uint8_t>> cases[] = {{0, {0x00}},
                                                                       {0x7f, {0x7f}},
                                                                       {0x80, {0x80, 0x01}},
                                                                       {0x3fff, {0xff, 0x7f}},
                                                                       {0x4000, {0x80, 0x80, 0x01}},
                                                                       {0xffff, {0xff, 0xff, 0x03}}};
  for (const auto& [value, bytes] : cases) {
    std::vector<std::uint8_t> out;
    appendCompactU16(out, value);
    EXPECT_EQ(out, bytes) << value;
  }
}

TEST(MintToChecked, CarriesIndex14TheAmountLittleEndianAndTheDecimals) {
  const auto authority = keypairFromSeed(1);
  const auto setup = setupFor(authority);
  const auto ix = mintToChecked(setup.mint, setup.mint, authority.public_key, 1'500'000'000, 9);
  EXPECT_EQ(ix.data, (std::vector<std::uint8_t>{14, 0x00, 0x2f, 0x68, 0x59, 0, 0, 0, 0, 9}));
  ASSERT_EQ(ix.accounts.size(), 3u);
  EXPECT_TRUE(ix.accounts[0].writable);  // the mint: its supply changes
  EXPECT_TRUE(ix.accounts[1].writable);  // the token account
  EXPECT_TRUE(ix.accounts[2].signer);    // the authority
}

TEST(CompileMessage, PutsTheFeePayerFirstThenWritableThenReadOnlyAccounts) {
  const auto authority = keypairFromSeed(1);
  const auto setup = setupFor(authority);
  const auto message = mintMessage(setup, {orderFor(2, 1000, true)}, PublicKey{});
  const auto bytes = compileMessage(message);
  EXPECT_EQ(bytes[0], 1);  // one signature
  EXPECT_EQ(bytes[1], 0);  // no read-only signer
  // wallet, system, token program, ATA program are read-only; payer, ATA, mint writable.
  EXPECT_EQ(bytes[2], 4);
  EXPECT_EQ(bytes[3], 7);  // account keys
  EXPECT_TRUE(std::equal(authority.public_key.begin(), authority.public_key.end(), bytes.begin() + 4));
}

TEST(SignTransaction, SignsTheMessageWithTheFeePayersKey) {
  const auto authority = keypairFromSeed(1);
  const auto message = mintMessage(setupFor(authority), {orderFor(2, 1000, false)}, PublicKey{});
  const auto tx = signTransaction(message, authority);
  ASSERT_EQ(tx.wire[0], 1);
  const auto body = compileMessage(message);
  EXPECT_EQ(tx.wire.size(), 1 + 64 + body.size());
  EXPECT_EQ(crypto_sign_verify_detached(tx.signature.data(), body.data(), body.size(), authority.public_key.data()), 0);
  EXPECT_TRUE(std::equal(tx.signature.begin(), tx.signature.end(), tx.wire.begin() + 1));
}

TEST(SignTransaction, RefusesAKeypairThatIsNotTheFeePayer) {
  const auto authority = keypairFromSeed(1);
  const auto message = mintMessage(setupFor(authority), {orderFor(2, 1000, false)}, PublicKey{});
  EXPECT_THROW(signTransaction(message, keypairFromSeed(3)), std::invalid_argument);
}

TEST(PackMintOrders, FillsEachTransactionUpTo1232BytesAndKeepsTheOrder) {
  const auto authority = keypairFromSeed(1);
  const auto setup = setupFor(authority);
  for (const bool create : {false, true}) {
    std::vector<MintOrder> orders;
    for (std::uint8_t i = 10; i < 60; ++i) orders.push_back(orderFor(i, 1000u + i, create));
    const auto groups = packMintOrders(setup, orders);
    std::size_t seen = 0;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      const auto size = transactionSize(mintMessage(setup, groups[g], PublicKey{}));
      EXPECT_LE(size, kMaxTransactionBytes);
      if (g + 1 < groups.size()) {  // one more would not have fitted
        auto more = groups[g];
        more.push_back(groups[g + 1].front());
        EXPECT_GT(transactionSize(mintMessage(setup, more, PublicKey{})), kMaxTransactionBytes);
      }
      for (const auto& order : groups[g]) EXPECT_EQ(order.mint_id, orders[seen++].mint_id);
    }
    EXPECT_EQ(seen, orders.size());
    // A mint costs its token account (32 bytes) and MintToChecked (16), about 20 to a transaction;
    // CreateIdempotent adds the wallet key and 10 bytes, about 10.
    EXPECT_GE(groups.front().size(), create ? 9u : 19u) << "create=" << create;
  }
}

}  // namespace
}  // namespace eventnode::plugins::meter
