#include "spl_token.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace eventnode::plugins::solana_listener {
namespace {

TEST(Base58, DecodesKnownValues) {
  // Encodings computed independently with Python.
  EXPECT_EQ(base58Decode("6AmSbVFP5kF9"),
            (std::vector<std::uint8_t>{7, 0x00, 0x2f, 0x68, 0x59, 0x00, 0x00, 0x00, 0x00}));  // MintTo 1.5e9
  EXPECT_EQ(base58Decode("115T"), (std::vector<std::uint8_t>{0, 0, 1, 2}));
  EXPECT_EQ(base58Decode(""), std::vector<std::uint8_t>{});
  EXPECT_EQ(base58Decode("1"), std::vector<std::uint8_t>{0});
  auto system = base58Decode("11111111111111111111111111111111");
  ASSERT_TRUE(system.has_value());
  EXPECT_EQ(system->size(), 32u);
  auto token = base58Decode(kTokenProgramId);
  ASSERT_TRUE(token.has_value());
  EXPECT_EQ(token->size(), 32u);
}

TEST(Base58, RoundTripsAndRefusesBadInput) {
  std::vector<std::uint8_t> bytes;
  for (int i = 1; i <= 64; ++i) bytes.push_back(static_cast<std::uint8_t>(i));
  const auto text = base58Encode(bytes);
  EXPECT_EQ(text, "2Ana1pUpv2ZbMVkwF5FXapYeBEjdxDatLn7nvJkhgTSXbs59SyZSx866bXirPgj8QQVB57uxHJBG1YFvkRbFj4T");
  EXPECT_EQ(base58Decode(text), bytes);
  EXPECT_EQ(base58Encode(std::vector<std::uint8_t>{0, 0, 1, 2}), "115T");
  for (const char* bad : {"0", "O", "I", "l", "abc+", "ab c", "é"}) EXPECT_FALSE(base58Decode(bad).has_value()) << bad;
  EXPECT_FALSE(base58Decode(std::string(20, '2'), 10).has_value());
}

TEST(SplToken, NamesTheStandardIndices) {
  const std::vector<std::pair<int, std::string>> cases = {
      {0, "InitializeMint"},
      {1, "InitializeAccount"},
      {3, "Transfer"},
      {7, "MintTo"},
      {8, "Burn"},
      {9, "CloseAccount"},
      {12, "TransferChecked"},
      {14, "MintToChecked"},
      {15, "BurnChecked"},
      {17, "SyncNative"},
      {20, "InitializeMint2"},
      {22, "InitializeImmutableOwner"},
      {24, "UiAmountToAmount"},
      {25, "InitializeMintCloseAuthority"},
      {255, "Batch"},
      {200, ""},
  };
  for (const auto& [index, name] : cases) EXPECT_EQ(tokenInstructionName(static_cast<std::uint8_t>(index)), name);
  for (int i = 0; i <= 24; ++i) EXPECT_FALSE(tokenInstructionName(static_cast<std::uint8_t>(i)).empty()) << i;
}

TEST(SplToken, DecodesMintToAndMintToChecked) {
  auto mint = decodeTokenInstructionBase58("6AmSbVFP5kF9");
  ASSERT_TRUE(mint.instruction.has_value()) << mint.error;
  EXPECT_EQ(mint.instruction->index, 7);
  EXPECT_EQ(mint.instruction->name, "MintTo");
  EXPECT_EQ(mint.instruction->amount, 1'500'000'000u);
  EXPECT_FALSE(mint.instruction->decimals.has_value());

  auto checked = decodeTokenInstructionBase58("ndf6pg6ByuwNG");
  ASSERT_TRUE(checked.instruction.has_value()) << checked.error;
  EXPECT_EQ(checked.instruction->name, "MintToChecked");
  EXPECT_EQ(checked.instruction->amount, 2'500'000'000u);
  EXPECT_EQ(checked.instruction->decimals, 9);

  auto transfer = decodeTokenInstructionBase58("3LV1rGrGXXhy");
  ASSERT_TRUE(transfer.instruction.has_value());
  EXPECT_EQ(transfer.instruction->name, "Transfer");
  EXPECT_EQ(transfer.instruction->amount, 42u);
}

TEST(SplToken, DecodesLayoutsFromRawBytes) {
  struct Case {
    std::vector<std::uint8_t> data;
    std::string name;
    std::optional<std::uint64_t> amount;
    std::optional<std::uint8_t> decimals;
  };
  const std::vector<Case> cases = {
      {{8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "Burn", UINT64_MAX, std::nullopt},
      {{12, 1, 0, 0, 0, 0, 0, 0, 0, 6}, "TransferChecked", 1, 6},
      {{15, 0, 1, 0, 0, 0, 0, 0, 0, 2, 0xAA}, "BurnChecked", 256, 2},  // trailing bytes are ignored
      {{0, 9, 1, 2, 3}, "InitializeMint", std::nullopt, 9},
      {{9}, "CloseAccount", std::nullopt, std::nullopt},
      {{17}, "SyncNative", std::nullopt, std::nullopt},
      {{99, 1, 2}, "", std::nullopt, std::nullopt},
  };
  for (const auto& c : cases) {
    auto decoded = decodeTokenInstruction(c.data);
    ASSERT_TRUE(decoded.instruction.has_value()) << c.name << ": " << decoded.error;
    EXPECT_EQ(decoded.instruction->name, c.name);
    EXPECT_EQ(decoded.instruction->amount, c.amount) << c.name;
    EXPECT_EQ(decoded.instruction->decimals, c.decimals) << c.name;
  }
}

TEST(SplToken, RefusesShortOrEmptyData) {
  struct Case {
    std::vector<std::uint8_t> data;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{}, "token instruction data is empty"},
      {{7, 1, 2, 3, 4}, "MintTo data is 5 bytes; needs 9"},
      {{14, 1, 2, 3, 4, 5, 6, 7, 8}, "MintToChecked data is 9 bytes; needs 10"},
      {{0}, "InitializeMint data is 1 bytes; needs 2"},
  };
  for (const auto& c : cases) {
    auto decoded = decodeTokenInstruction(c.data);
    EXPECT_FALSE(decoded.instruction.has_value());
    EXPECT_EQ(decoded.error, c.error);
  }
  EXPECT_FALSE(decodeTokenInstructionBase58("0OIl").instruction.has_value());
  EXPECT_FALSE(decodeTokenInstructionBase58("").instruction.has_value());
}

TEST(SplToken, KnowsBothTokenPrograms) {
  EXPECT_TRUE(isTokenProgram("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"));
  EXPECT_TRUE(isTokenProgram("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"));
  EXPECT_FALSE(isTokenProgram("11111111111111111111111111111111"));
}

}  // namespace
}  // namespace eventnode::plugins::solana_listener
