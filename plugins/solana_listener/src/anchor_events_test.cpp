#include "anchor_events.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace eventnode::plugins::solana_listener {
namespace {

constexpr const char* kProgram = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P";
constexpr const char* kOther = "ComputeBudget111111111111111111111111111111";

TEST(AnchorDiscriminator, MatchesAnchorsKnownValues) {
  // Values computed independently with Python's hashlib.
  EXPECT_EQ(instructionDiscriminator("initialize"), (Discriminator{175, 175, 109, 31, 13, 152, 155, 237}));
  EXPECT_EQ(instructionDiscriminator("initialize_mint"), (Discriminator{209, 42, 195, 4, 129, 85, 209, 44}));
  EXPECT_EQ(eventDiscriminator("TradeEvent"), (Discriminator{189, 219, 127, 211, 78, 230, 97, 238}));
  EXPECT_EQ(eventDiscriminator("MintRecorded"), (Discriminator{72, 62, 178, 93, 79, 156, 145, 243}));
}

TEST(AnchorDiscriminator, SnakeCaseFollowsAnchor) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"Initialize", "initialize"},
      {"InitializeMint", "initialize_mint"},
      {"MintToChecked", "mint_to_checked"},
      {"SwapV2", "swap_v2"},
      {"HTTPServer", "http_server"},
      {"already_snake", "already_snake"},
      {"", ""},
  };
  for (const auto& [name, snake] : cases) EXPECT_EQ(toSnakeCase(name), snake) << name;
}

TEST(Base64, DecodesAndEncodesRoundTrip) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", ""}, {"aA==", "h"}, {"aGU=", "he"}, {"aGVs", "hel"}, {"aGVsbG8=", "hello"}, {"aGVsbG8", "hello"},
  };
  for (const auto& [text, plain] : cases) {
    auto bytes = base64Decode(text);
    ASSERT_TRUE(bytes.has_value()) << text;
    EXPECT_EQ(std::string(bytes->begin(), bytes->end()), plain) << text;
  }
  std::vector<std::uint8_t> all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<std::uint8_t>(i));
  EXPECT_EQ(base64Decode(base64Encode(all)), all);
}

TEST(Base64, RefusesBadForms) {
  for (const char* bad : {"a", "aGVsbG8==", "a===", "aG Vs", "aGVs!", "aGVsbG9=", "====", "aGVsbG8=\n"}) {
    EXPECT_FALSE(base64Decode(bad).has_value()) << bad;
  }
  EXPECT_FALSE(base64Decode("aGVsbG8=", 4).has_value());  // 5 bytes over a 4-byte limit
  EXPECT_TRUE(base64Decode("aGVsbG8=", 5).has_value());
}

ParsedLogs logsWithData(const std::string& program, std::vector<std::vector<std::string>> data) {
  ParsedLogs logs;
  Invocation invocation;
  invocation.program = program;
  invocation.depth = 1;
  invocation.data = std::move(data);
  logs.invocations.push_back(std::move(invocation));
  return logs;
}

TEST(AnchorEventRegistry, ResolvesConfiguredEventsOfTheLoggingProgram) {
  AnchorEventRegistry registry;
  registry.add(kProgram, "TradeEvent");
  registry.add(kProgram, "MintRecorded");
  const auto logs = logsWithData(kProgram, {{"vdt/007mYe4BAgMEBQ==", "aGVsbG8="},
                                            {"SD6yXU+ckfPoAwAAAAAAAA=="},
                                            {"aGVsbG8gd29ybGQ="},  // 11 bytes, no known discriminator
                                            {},
                                            {"!!!notbase64"}});
  const auto events = registry.extract(logs);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].name, "TradeEvent");
  EXPECT_EQ(events[0].data, "vdt/007mYe4BAgMEBQ==");
  EXPECT_EQ(events[0].program, kProgram);
  EXPECT_EQ(events[0].invocation, 0u);
  EXPECT_EQ(events[1].name, "MintRecorded");
}

TEST(AnchorEventRegistry, OtherProgramsAndUnconfiguredNamesResolveNothing) {
  AnchorEventRegistry registry;
  registry.add(kProgram, "MintRecorded");
  EXPECT_TRUE(registry.extract(logsWithData(kOther, {{"SD6yXU+ckfPoAwAAAAAAAA=="}})).empty());
  EXPECT_TRUE(registry.extract(logsWithData(kProgram, {{"vdt/007mYe4BAgMEBQ=="}})).empty());
  EXPECT_FALSE(registry.resolveBase64(kProgram, "SD6yXU+ckQ==").has_value());   // 7 bytes: shorter than 8
  EXPECT_EQ(registry.resolveBase64(kProgram, "SD6yXU+ckfM="), "MintRecorded");  // exactly the discriminator
  EXPECT_TRUE(AnchorEventRegistry().extract(logsWithData(kProgram, {{"SD6yXU+ckfM="}})).empty());
}

TEST(AnchorEventRegistry, RefusesEmptyNamesAndAcceptsRepeats) {
  AnchorEventRegistry registry;
  EXPECT_THROW(registry.add(kProgram, ""), std::invalid_argument);
  registry.add(kProgram, "TradeEvent");
  EXPECT_NO_THROW(registry.add(kProgram, "TradeEvent"));
  EXPECT_FALSE(registry.empty());
}

}  // namespace
}  // namespace eventnode::plugins::solana_listener
