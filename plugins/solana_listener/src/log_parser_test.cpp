#include "log_parser.hpp"

#include "log_lines_for_tests.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace eventnode::plugins::solana_listener {
namespace {

using namespace test_logs;

constexpr const char* kSystem = "11111111111111111111111111111111";
constexpr const char* kAta = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL";

TEST(LogParser, PTokenMintToHasNoInstructionName) {
  // p-token, as litesvm 1.5.0 runs it: invoke, consumed, success, nothing else.
  const std::vector<std::string> lines = {invoke(kToken, 1), consumed(kToken, 120, 200000), success(kToken)};
  const auto parsed = parseLogs(lines);
  ASSERT_EQ(parsed.invocations.size(), 1u);
  const auto& mint = parsed.invocations[0];
  EXPECT_EQ(mint.program, kToken);
  EXPECT_EQ(mint.depth, 1);
  EXPECT_FALSE(mint.parent.has_value());
  EXPECT_TRUE(mint.instruction.empty());
  EXPECT_EQ(mint.compute_units, 120u);
  EXPECT_EQ(mint.compute_units_limit, 200000u);
  EXPECT_EQ(mint.outcome, Outcome::Success);
  EXPECT_FALSE(parsed.truncated);
  EXPECT_FALSE(parsed.unbalanced);
  EXPECT_EQ(parsed.unknown_lines, 0u);
}

TEST(LogParser, AnchorInstructionNameDataAndNestedCpi) {
  const std::vector<std::string> lines = {
      invoke(kCompute, 1),
      success(kCompute),
      invoke(kAnchor, 1),
      "Program log: Instruction: Initialize",
      invoke(kSystem, 2),
      success(kSystem),
      invoke(kAta, 2),
      "Program log: Create",
      invoke(kToken, 3),
      "Program log: Instruction: GetAccountDataSize",
      consumed(kToken, 1569, 190000),
      "Program return: " + std::string(kToken) + " pQAAAAAAAAA=",
      success(kToken),
      consumed(kAta, 20000, 195000),
      success(kAta),
      "Program data: vdt/007mYe4BAgMEBQ== aGVsbG8=",
      "Program data: SD6yXU+ckfPoAwAAAAAAAA==",
      consumed(kAnchor, 45000, 199850),
      success(kAnchor),
  };
  const auto parsed = parseLogs(lines);
  ASSERT_EQ(parsed.invocations.size(), 5u);
  EXPECT_FALSE(parsed.unbalanced);
  EXPECT_EQ(parsed.unknown_lines, 0u);

  const auto& anchor = parsed.invocations[1];
  EXPECT_EQ(anchor.program, kAnchor);
  EXPECT_EQ(anchor.instruction, "Initialize");
  ASSERT_EQ(anchor.data.size(), 2u);
  EXPECT_EQ(anchor.data[0], (std::vector<std::string>{"vdt/007mYe4BAgMEBQ==", "aGVsbG8="}));
  EXPECT_EQ(anchor.data[1], (std::vector<std::string>{"SD6yXU+ckfPoAwAAAAAAAA=="}));
  EXPECT_EQ(anchor.compute_units, 45000u);
  EXPECT_EQ(anchor.outcome, Outcome::Success);

  EXPECT_EQ(parsed.invocations[2].program, kSystem);
  EXPECT_EQ(parsed.invocations[2].depth, 2);
  EXPECT_EQ(parsed.invocations[2].parent, 1u);
  const auto& ata = parsed.invocations[3];
  EXPECT_EQ(ata.parent, 1u);
  EXPECT_TRUE(ata.instruction.empty());  // "Create" is a log, not "Instruction: …"
  EXPECT_EQ(ata.logs, std::vector<std::string>{"Create"});
  const auto& token = parsed.invocations[4];
  EXPECT_EQ(token.depth, 3);
  EXPECT_EQ(token.parent, 3u);
  EXPECT_EQ(token.instruction, "GetAccountDataSize");
  EXPECT_EQ(token.return_data, "pQAAAAAAAAA=");
  EXPECT_TRUE(anchor.data.size() == 2 && token.data.empty());  // data stays with the program that logged it
}

TEST(LogParser, FailedTransactionKeepsReasonPerLevel) {
  const std::vector<std::string> lines = {
      invoke(kAnchor, 1),
      "Program log: Instruction: Buy",
      invoke(kToken, 2),
      "Program log: Error: insufficient funds",
      consumed(kToken, 4000, 180000),
      "Program " + std::string(kToken) + " failed: custom program error: 0x1",
      consumed(kAnchor, 22000, 200000),
      "Program " + std::string(kAnchor) + " failed: custom program error: 0x1",
  };
  const auto parsed = parseLogs(lines);
  ASSERT_EQ(parsed.invocations.size(), 2u);
  EXPECT_EQ(parsed.invocations[0].outcome, Outcome::Failed);
  EXPECT_EQ(parsed.invocations[0].failure, "custom program error: 0x1");
  EXPECT_EQ(parsed.invocations[1].outcome, Outcome::Failed);
  EXPECT_EQ(parsed.invocations[1].logs, std::vector<std::string>{"Error: insufficient funds"});
  EXPECT_EQ(parsed.first_failure, "custom program error: 0x1");
  EXPECT_FALSE(parsed.unbalanced);
}

TEST(LogParser, TruncatedLogLeavesOpenInvocationsUnknown) {
  const std::vector<std::string> lines = {invoke(kAnchor, 1), "Program log: Instruction: Crank", invoke(kToken, 2),
                                          "Log truncated"};
  const auto parsed = parseLogs(lines);
  EXPECT_TRUE(parsed.truncated);
  EXPECT_TRUE(parsed.unbalanced);
  ASSERT_EQ(parsed.invocations.size(), 2u);
  EXPECT_EQ(parsed.invocations[0].instruction, "Crank");
  EXPECT_EQ(parsed.invocations[0].outcome, Outcome::Unknown);
  EXPECT_EQ(parsed.invocations[1].outcome, Outcome::Unknown);
}

TEST(LogParser, UnbalancedLinesAreRecoveredFrom) {
  struct Case {
    const char* what;
    std::vector<std::string> lines;
    std::size_t invocations;
    bool unbalanced;
  };
  const std::vector<Case> cases = {
      {"success without invoke", {success(kToken)}, 0, true},
      {"depth jumps from 1 to 3", {invoke(kAnchor, 1), invoke(kToken, 3), success(kToken), success(kAnchor)}, 2, true},
      {"new top level before the previous ended", {invoke(kAnchor, 1), invoke(kToken, 1), success(kToken)}, 2, true},
      {"outer success closes an inner one", {invoke(kAnchor, 1), invoke(kToken, 2), success(kAnchor)}, 2, true},
      {"consumed for a program not open", {invoke(kAnchor, 1), consumed(kToken, 1, 2), success(kAnchor)}, 1, true},
      {"balanced", {invoke(kAnchor, 1), invoke(kToken, 2), success(kToken), success(kAnchor)}, 2, false},
  };
  for (const auto& c : cases) {
    const auto parsed = parseLogs(c.lines);
    EXPECT_EQ(parsed.invocations.size(), c.invocations) << c.what;
    EXPECT_EQ(parsed.unbalanced, c.unbalanced) << c.what;
  }
  // A second top-level invoke after an unclosed one has no parent.
  const auto parsed = parseLogs({invoke(kAnchor, 1), invoke(kToken, 1)});
  ASSERT_EQ(parsed.invocations.size(), 2u);
  EXPECT_FALSE(parsed.invocations[1].parent.has_value());
}

TEST(LogParser, UnknownAndMalformedLinesAreCountedNotParsed) {
  const std::vector<std::string> garbage = {
      "",
      "Program",
      "Program ",
      "Program consumption: 199000 units remaining",
      "Program " + std::string(kToken),
      "Program " + std::string(kToken) + " invoke",
      "Program " + std::string(kToken) + " invoke []",
      "Program " + std::string(kToken) + " invoke [x]",
      "Program " + std::string(kToken) + " invoke [0]",
      "Program " + std::string(kToken) + " invoke [-1]",
      "Program " + std::string(kToken) + " invoke [99999999999999999999999]",
      "Program " + std::string(kToken) + " invoke [65]",
      "Program not-a-key!! invoke [1]",
      "Program 0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl invoke [1]",
      "Program " + std::string(kToken) + " consumed lots of 200000 compute units",
      "Program " + std::string(kToken) + " consumed 5 of compute units",
      "Program " + std::string(kToken) + " consumed 5 of 10 units",
      "Program " + std::string(kToken) + " dances",
      "Program log: orphan log outside any invocation",
      "Program data: AAAA",
      "Program return: " + std::string(kToken) + " AAAA",
      std::string("\0\xff\xfe binary", 10),
      "Log truncated but not quite",
  };
  for (const auto& line : garbage) {
    const auto parsed = parseLogs({line});
    EXPECT_TRUE(parsed.invocations.empty()) << line;
    EXPECT_EQ(parsed.unknown_lines, 1u) << line;
    EXPECT_FALSE(parsed.truncated) << line;
  }
}

TEST(LogParser, ReturnLineWithoutPayloadIsUnknown) {
  const auto parsed = parseLogs({invoke(kToken, 1), "Program return: " + std::string(kToken), success(kToken)});
  EXPECT_EQ(parsed.unknown_lines, 1u);
  EXPECT_FALSE(parsed.invocations[0].return_data.has_value());
}

TEST(LogParser, InstructionNameMustLookLikeAnIdentifier) {
  const auto parsed = parseLogs({invoke(kAnchor, 1), "Program log: Instruction: not a name", success(kAnchor),
                                 invoke(kAnchor, 1), "Program log: Instruction: Swap_V2", success(kAnchor)});
  ASSERT_EQ(parsed.invocations.size(), 2u);
  EXPECT_TRUE(parsed.invocations[0].instruction.empty());
  EXPECT_EQ(parsed.invocations[1].instruction, "Swap_V2");
}

TEST(LogParser, FirstInstructionLogWins) {
  const auto parsed = parseLogs(
      {invoke(kAnchor, 1), "Program log: Instruction: Deposit", "Program log: Instruction: Other", success(kAnchor)});
  EXPECT_EQ(parsed.invocations[0].instruction, "Deposit");
  EXPECT_EQ(parsed.invocations[0].logs.size(), 2u);
}

TEST(LogParser, DataLineSplitsOnAnySpaces) {
  const auto parsed =
      parseLogs({invoke(kAnchor, 1), "Program data:  AAAA   BBBB ", "Program data: ", success(kAnchor)});
  ASSERT_EQ(parsed.invocations[0].data.size(), 2u);
  EXPECT_EQ(parsed.invocations[0].data[0], (std::vector<std::string>{"AAAA", "BBBB"}));
  EXPECT_TRUE(parsed.invocations[0].data[1].empty());
}

TEST(LogParser, LineCountLimitStopsReading) {
  std::vector<std::string> lines;
  for (int i = 0; i < 50; ++i) {
    lines.push_back(invoke(kToken, 1));
    lines.push_back(success(kToken));
  }
  const auto parsed = parseLogs(lines, LogLimits{.max_lines = 10});
  EXPECT_TRUE(parsed.truncated);
  EXPECT_EQ(parsed.dropped_lines, 90u);
  EXPECT_EQ(parsed.invocations.size(), 5u);
}

TEST(LogParser, OverlongLinesAreSkipped) {
  const auto parsed = parseLogs({invoke(kAnchor, 1), "Program log: " + std::string(100, 'x'), success(kAnchor)},
                                LogLimits{.max_line_length = 64});
  EXPECT_EQ(parsed.oversized_lines, 1u);
  EXPECT_TRUE(parsed.invocations[0].logs.empty());
  EXPECT_EQ(parsed.invocations[0].outcome, Outcome::Success);
}

TEST(LogParser, EmptyInputIsEmpty) {
  const auto parsed = parseLogs({});
  EXPECT_TRUE(parsed.invocations.empty());
  EXPECT_FALSE(parsed.truncated);
  EXPECT_FALSE(parsed.unbalanced);
}

TEST(LogParser, MutatedRealLinesNeverBreakTheParser) {
  const std::vector<std::string> seeds = {invoke(kAnchor, 1),
                                          "Program log: Instruction: Initialize",
                                          "Program data: vdt/007mYe4BAgMEBQ== aGVsbG8=",
                                          consumed(kAnchor, 45000, 199850),
                                          "Program return: " + std::string(kToken) + " pQAAAAAAAAA=",
                                          "Program " + std::string(kToken) + " failed: custom program error: 0x1",
                                          success(kAnchor),
                                          "Log truncated"};
  std::mt19937 random(20240601);  // fixed seed: a failure reproduces
  for (int round = 0; round < 2000; ++round) {
    std::vector<std::string> lines;
    const auto count = random() % 12;
    for (std::size_t i = 0; i < count; ++i) {
      auto line = seeds[random() % seeds.size()];
      switch (random() % 4) {
        case 0:
          line.resize(random() % (line.size() + 1));
          break;
        case 1:
          if (!line.empty()) line[random() % line.size()] = static_cast<char>(random() % 256);
          break;
        case 2:
          line.insert(random() % (line.size() + 1), 1, static_cast<char>(random() % 256));
          break;
        default:
          break;
      }
      lines.push_back(std::move(line));
    }
    const auto parsed = parseLogs(lines, LogLimits{.max_lines = 8});
    for (std::size_t i = 0; i < parsed.invocations.size(); ++i) {
      const auto& invocation = parsed.invocations[i];
      if (invocation.parent) {
        ASSERT_LT(*invocation.parent, i);  // parents precede children
      }
      ASSERT_GE(invocation.depth, 1);
    }
  }
}

TEST(LogParser, LooksLikePubkey) {
  EXPECT_TRUE(looksLikePubkey(kToken));
  EXPECT_TRUE(looksLikePubkey(kSystem));
  EXPECT_FALSE(looksLikePubkey(""));
  EXPECT_FALSE(looksLikePubkey("short"));
  EXPECT_FALSE(looksLikePubkey(std::string(45, 'A')));
  EXPECT_FALSE(looksLikePubkey("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5D0"));  // '0' is not base58
}

}  // namespace
}  // namespace eventnode::plugins::solana_listener
