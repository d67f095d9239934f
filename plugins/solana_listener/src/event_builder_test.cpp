#include "event_builder.hpp"

#include "log_lines_for_tests.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace eventnode::plugins::solana_listener {
namespace {

using plugin::Json;

constexpr const char* kSignature =
    "2Ana1pUpv2ZbMVkwF5FXapYeBEjdxDatLn7nvJkhgTSXbs59SyZSx866bXirPgj8QQVB57uxHJBG1YFvkRbFj4T";
using namespace test_logs;

constexpr const char* kToken2022 = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb";
constexpr const char* kPayer = "Payer111111111111111111111111111111111111111";
constexpr const char* kMint = "Mint1111111111111111111111111111111111111111";
constexpr const char* kDest = "Dest1111111111111111111111111111111111111111";

Json notification(Json logs, Json err = nullptr) {
  return Json{{"context", {{"slot", 5208469}}},
              {"value", {{"signature", kSignature}, {"err", std::move(err)}, {"logs", std::move(logs)}}}};
}

/// A getTransaction result (encoding "json") for a p-token MintTo of 1.5 tokens (9 decimals).
Json mintTransaction() {
  return Json::parse(R"({
    "slot": 430, "blockTime": 1700000000, "version": "legacy",
    "meta": {"err": null, "status": {"Ok": null}, "fee": 5000,
             "logMessages": ["Program TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA invoke [1]",
                             "Program TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA consumed 120 of 200000 compute units",
                             "Program TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA success"],
             "innerInstructions": [], "loadedAddresses": {"writable": [], "readonly": []}},
    "transaction": {"signatures": [")" +
                     std::string(kSignature) + R"("],
                    "message": {"accountKeys": ["Payer111111111111111111111111111111111111111",
                                                "Mint1111111111111111111111111111111111111111",
                                                "Dest1111111111111111111111111111111111111111",
                                                "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"],
                                "header": {"numRequiredSignatures": 1},
                                "recentBlockhash": "11111111111111111111111111111111",
                                "instructions": [{"programIdIndex": 3, "accounts": [1, 2, 0],
                                                  "data": "6AmSbVFP5kF9", "stackHeight": null}]}}
  })");
}

TEST(EventBuilder, LiveAnchorTransactionWithEvents) {
  AnchorEventRegistry registry;
  registry.add(kAnchor, "TradeEvent");
  const EventBuilderConfig config{.events = &registry};
  const Json logs = {invoke(kCompute, 1),
                     success(kCompute),
                     invoke(kAnchor, 1),
                     "Program log: Instruction: Initialize",
                     invoke(kToken, 2),
                     "Program log: Instruction: MintTo",
                     success(kToken),
                     "Program data: vdt/007mYe4BAgMEBQ==",
                     "Program data: aGVsbG8gd29ybGQ=",
                     "Program " + std::string(kAnchor) + " consumed 30000 of 200000 compute units",
                     success(kAnchor)};
  const auto built = buildFromLogsNotification(notification(logs), kAnchor, config);
  ASSERT_TRUE(built.ok()) << built.error;
  const auto& event = built.event;
  EXPECT_EQ(event["type"], "SolanaTransaction");
  EXPECT_EQ(event["program"], kAnchor);
  EXPECT_EQ(event["signature"], kSignature);
  EXPECT_EQ(event["slot"], 5208469);
  EXPECT_TRUE(event["err"].is_null());
  EXPECT_EQ(event["source"], "live");
  EXPECT_EQ(event["logs"], logs);
  ASSERT_EQ(event["instructions"].size(), 3u);
  EXPECT_EQ(event["instructions"][1]["name"], "Initialize");
  EXPECT_EQ(event["instructions"][1]["name_source"], "log");
  EXPECT_EQ(event["instructions"][1]["compute_units"], 30000);
  EXPECT_EQ(event["instructions"][1]["data"], Json::parse(R"([["vdt/007mYe4BAgMEBQ=="],["aGVsbG8gd29ybGQ="]])"));
  EXPECT_EQ(event["instructions"][2]["name"], "MintTo");
  EXPECT_EQ(event["instructions"][2]["parent"], 1);
  EXPECT_EQ(event["instructions"][2]["depth"], 2);
  EXPECT_TRUE(event["instructions"][0]["name"].is_null());
  ASSERT_EQ(event["events"].size(), 1u);
  EXPECT_EQ(event["events"][0],
            (Json{{"program", kAnchor}, {"name", "TradeEvent"}, {"data", "vdt/007mYe4BAgMEBQ=="}, {"instruction", 1}}));
}

TEST(EventBuilder, LiveFailedTransactionCarriesItsError) {
  const Json err = Json::parse(R"({"InstructionError":[0,{"Custom":1}]})");
  const Json logs = {invoke(kAnchor, 1), "Program log: Instruction: Buy",
                     "Program " + std::string(kAnchor) + " failed: custom program error: 0x1"};
  const auto built = buildFromLogsNotification(notification(logs, err), kAnchor, {});
  ASSERT_TRUE(built.ok()) << built.error;
  EXPECT_EQ(built.event["err"], err);
  EXPECT_EQ(built.event["instructions"][0]["status"], "failed");
  EXPECT_EQ(built.event["instructions"][0]["error"], "custom program error: 0x1");
  EXPECT_TRUE(built.event["events"].empty());
}

TEST(EventBuilder, LiveTruncatedLogsAreFlagged) {
  const auto built = buildFromLogsNotification(notification(Json{invoke(kAnchor, 1), "Log truncated"}), kAnchor, {});
  ASSERT_TRUE(built.ok()) << built.error;
  EXPECT_TRUE(built.event["logs_truncated"].get<bool>());
  EXPECT_EQ(built.event["instructions"][0]["status"], "unknown");
}

TEST(EventBuilder, BackfilledPTokenMintIsNamedFromItsData) {
  const auto built = buildFromTransaction(mintTransaction(), kToken, {});
  ASSERT_TRUE(built.ok()) << built.error;
  const auto& event = built.event;
  EXPECT_EQ(event["source"], "backfill");
  EXPECT_EQ(event["slot"], 430);
  EXPECT_EQ(event["blockTime"], 1700000000);
  EXPECT_EQ(event["signature"], kSignature);
  ASSERT_EQ(event["instructions"].size(), 1u);
  const auto& mint = event["instructions"][0];
  EXPECT_EQ(mint["name"], "MintTo");
  EXPECT_EQ(mint["name_source"], "instruction_data");
  EXPECT_EQ(mint["status"], "success");
  EXPECT_EQ(mint["token"], (Json{{"index", 7}, {"name", "MintTo"}, {"amount", "1500000000"}}));
  EXPECT_EQ(mint["accounts"], (Json{kMint, kDest, kPayer}));
}

TEST(EventBuilder, BackfillKeepsLogNamesAndStillDecodesAmounts) {
  auto tx = mintTransaction();
  tx["meta"]["logMessages"] = {invoke(kToken, 1), "Program log: Instruction: MintTo", success(kToken)};
  const auto built = buildFromTransaction(tx, kToken, {});
  ASSERT_TRUE(built.ok()) << built.error;
  EXPECT_EQ(built.event["instructions"][0]["name_source"], "log");
  EXPECT_EQ(built.event["instructions"][0]["token"]["amount"], "1500000000");
}

TEST(EventBuilder, BackfillWithoutLogsStillReportsTokenInstructions) {
  auto tx = mintTransaction();
  tx["meta"]["logMessages"] = nullptr;
  const auto built = buildFromTransaction(tx, kToken, {});
  ASSERT_TRUE(built.ok()) << built.error;
  ASSERT_EQ(built.event["instructions"].size(), 1u);
  EXPECT_EQ(built.event["instructions"][0]["name"], "MintTo");
  EXPECT_EQ(built.event["instructions"][0]["status"], "unknown");
  EXPECT_TRUE(built.event["logs"].empty());
}

TEST(EventBuilder, BackfillMatchesInnerInstructionsAndLoadedAddresses) {
  // An Anchor program CPIs MintToChecked into Token-2022, whose id comes from a lookup table (v0).
  auto tx = Json::parse(R"({
    "slot": 900, "blockTime": null, "version": 0,
    "meta": {"err": null, "innerInstructions": [{"index": 1, "instructions": [
               {"programIdIndex": 4, "accounts": [2, 3, 0], "data": "ndf6pg6ByuwNG", "stackHeight": 2}]}],
             "loadedAddresses": {"writable": [], "readonly": ["TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"]}},
    "transaction": {"message": {"accountKeys": ["Payer111111111111111111111111111111111111111",
                                                "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P",
                                                "Mint1111111111111111111111111111111111111111",
                                                "Dest1111111111111111111111111111111111111111"],
                                "instructions": [{"programIdIndex": 1, "accounts": [], "data": "1"},
                                                 {"programIdIndex": 1, "accounts": [0, 2, 3], "data": "3Bxs4h24hBtQy9rw"}]}}
  })");
  tx["transaction"]["signatures"] = {kSignature};
  tx["meta"]["logMessages"] = {invoke(kAnchor, 1),
                               "Program log: Instruction: Ping",
                               success(kAnchor),
                               invoke(kAnchor, 1),
                               "Program log: Instruction: MintEnergy",
                               invoke(kToken2022, 2),
                               success(kToken2022),
                               success(kAnchor)};
  const auto built = buildFromTransaction(tx, kAnchor, {});
  ASSERT_TRUE(built.ok()) << built.error;
  const auto& instructions = built.event["instructions"];
  ASSERT_EQ(instructions.size(), 3u);
  EXPECT_EQ(instructions[0]["name"], "Ping");
  EXPECT_EQ(instructions[1]["name"], "MintEnergy");
  EXPECT_EQ(instructions[1]["accounts"], (Json{kPayer, kMint, kDest}));
  EXPECT_EQ(instructions[2]["program"], kToken2022);
  EXPECT_EQ(instructions[2]["name"], "MintToChecked");
  EXPECT_EQ(instructions[2]["token"]["amount"], "2500000000");
  EXPECT_EQ(instructions[2]["token"]["decimals"], 9);
  EXPECT_EQ(instructions[2]["accounts"], (Json{kMint, kDest, kPayer}));
  EXPECT_TRUE(built.event["blockTime"].is_null());
}

TEST(EventBuilder, BackfillReportsUndecodableTokenData) {
  auto tx = mintTransaction();
  tx["transaction"]["message"]["instructions"][0]["data"] = "8";  // one byte: 7 alone, no amount
  const auto built = buildFromTransaction(tx, kToken, {});
  ASSERT_TRUE(built.ok()) << built.error;
  EXPECT_EQ(built.event["instructions"][0]["token"]["error"], "MintTo data is 1 bytes; needs 9");
  EXPECT_TRUE(built.event["instructions"][0]["name"].is_null());
}

struct BadCase {
  const char* what;
  Json input;
  std::string error;  // a part the message must contain
};

TEST(EventBuilder, RefusesMalformedNotificationsNamingTheField) {
  auto with = [](const char* path, Json value) {
    auto n = notification(Json::array());
    n[Json::json_pointer(path)] = std::move(value);
    return n;
  };
  auto without = [](const char* parent, const char* key) {
    auto n = notification(Json::array());
    n[Json::json_pointer(parent)].erase(key);
    return n;
  };
  const std::vector<BadCase> cases = {
      {"not an object", Json::array(), "result: expected an object"},
      {"null", nullptr, "result: expected an object"},
      {"no context", without("", "context"), "result.context: missing"},
      {"context not object", with("/context", 5), "result.context: expected an object"},
      {"no slot", without("/context", "slot"), "result.context.slot: missing"},
      {"negative slot", with("/context/slot", -1), "result.context.slot: expected a non-negative integer"},
      {"string slot", with("/context/slot", "5"), "result.context.slot: expected an unsigned integer"},
      {"float slot", with("/context/slot", 1.5), "result.context.slot: expected an unsigned integer"},
      {"no value", without("", "value"), "result.value: missing"},
      {"no signature", without("/value", "signature"), "result.value.signature: missing"},
      {"numeric signature", with("/value/signature", 7), "result.value.signature: expected a base58 signature"},
      {"non-base58 signature", with("/value/signature", "0OIl"), "result.value.signature: not base58"},
      {"short signature", with("/value/signature", "3LV1rGrGXXhy"), "decodes to 9 bytes; a signature has 64"},
      {"huge signature", with("/value/signature", std::string(500, '2')), "500 characters"},
      {"no err", without("/value", "err"), "result.value.err: missing"},
      {"numeric err", with("/value/err", 3), "result.value.err: expected null, an object or a string"},
      {"no logs", without("/value", "logs"), "result.value.logs: missing"},
      {"logs not array", with("/value/logs", "Program log: x"), "result.value.logs: expected an array"},
      {"log not string", with("/value/logs", Json{"ok", 5}), "result.value.logs[1]: expected a string"},
  };
  for (const auto& c : cases) {
    const auto built = buildFromLogsNotification(c.input, kAnchor, {});
    EXPECT_FALSE(built.ok()) << c.what;
    EXPECT_NE(built.error.find(c.error), std::string::npos) << c.what << ": " << built.error;
    EXPECT_TRUE(built.event.is_null()) << c.what;
  }
}

TEST(EventBuilder, RefusesOversizedLogsNamingTheLimit) {
  const EventBuilderConfig config{.max_log_lines = 3, .max_log_line_length = 20};
  auto too_many = buildFromLogsNotification(notification(Json{"a", "b", "c", "d"}), kAnchor, config);
  EXPECT_EQ(too_many.error, "result.value.logs: 4 lines exceed the limit of 3");
  auto too_long = buildFromLogsNotification(notification(Json{"a", std::string(21, 'x')}), kAnchor, config);
  EXPECT_EQ(too_long.error, "result.value.logs[1]: 21 bytes exceed the line limit of 20");
  EXPECT_TRUE(buildFromLogsNotification(notification(Json{"a", "b", "c"}), kAnchor, config).ok());
}

TEST(EventBuilder, RefusesMalformedTransactionsNamingTheField) {
  auto with = [](const char* path, Json value) {
    auto tx = mintTransaction();
    tx[Json::json_pointer(path)] = std::move(value);
    return tx;
  };
  const std::vector<BadCase> cases = {
      {"null result", nullptr, "result: null (the node does not know this transaction"},
      {"array result", Json::array(), "result: expected an object"},
      {"no meta", with("/meta", nullptr), "result.meta: expected an object"},
      {"string slot", with("/slot", "430"), "result.slot: expected an unsigned integer"},
      {"bad blockTime", with("/blockTime", "x"), "result.blockTime: expected an integer or null"},
      {"log not string", with("/meta/logMessages/1", 1), "result.meta.logMessages[1]: expected a string"},
      {"base64 encoded", with("/transaction", Json{"AQID", "base64"}), "encoding \"json\""},
      {"no signatures", with("/transaction/signatures", Json::array()),
       "result.transaction.signatures: expected a non-empty array"},
      {"bad signature", with("/transaction/signatures/0", "abc"), "result.transaction.signatures[0]: decodes to"},
      {"keys not array", with("/transaction/message/accountKeys", 1),
       "result.transaction.message.accountKeys: expected an array"},
      {"bad key", with("/transaction/message/accountKeys/2", "not a key"),
       "result.transaction.message.accountKeys[2]: expected a base58 public key"},
      {"index past keys", with("/transaction/message/instructions/0/programIdIndex", 4),
       "programIdIndex: 4 is past the 4 account keys"},
      {"negative index", with("/transaction/message/instructions/0/programIdIndex", -1),
       "programIdIndex: expected a non-negative integer"},
      {"data not string", with("/transaction/message/instructions/0/data", Json::array()),
       "instructions[0].data: expected a base58 string"},
      {"account past keys", with("/transaction/message/instructions/0/accounts/1", 9),
       "instructions[0].accounts[1]: expected an index below 4"},
      {"instruction not object", with("/transaction/message/instructions/0", 3), "instructions[0]: expected an object"},
      {"inner not array", with("/meta/innerInstructions", 3), "result.meta.innerInstructions: expected an array"},
      {"inner without index", with("/meta/innerInstructions", Json::parse(R"([{"instructions": []}])")),
       "result.meta.innerInstructions[0].index: missing"},
      {"loaded not array", with("/meta/loadedAddresses/readonly", "x"),
       "result.meta.loadedAddresses.readonly: expected an array"},
  };
  for (const auto& c : cases) {
    const auto built = buildFromTransaction(c.input, kToken, {});
    EXPECT_FALSE(built.ok()) << c.what;
    EXPECT_NE(built.error.find(c.error), std::string::npos) << c.what << ": " << built.error;
  }
}

TEST(EventBuilder, RefusesOversizedTransactionsNamingTheLimit) {
  auto tx = mintTransaction();
  EXPECT_NE(
      buildFromTransaction(tx, kToken, {.max_instructions = 0}).error.find("1 instructions exceed the limit of 0"),
      std::string::npos);
  EXPECT_NE(buildFromTransaction(tx, kToken, {.max_account_keys = 3}).error.find("more than 3 account keys"),
            std::string::npos);
  EXPECT_NE(
      buildFromTransaction(tx, kToken, {.max_instruction_data = 5}).error.find("12 characters exceed the limit of 5"),
      std::string::npos);
}

TEST(EventBuilder, AnyJsonShapeGivesAResultNotAnException) {
  // Every subtree of a valid input replaced by values of every JSON type.
  const std::vector<Json> replacements = {
      nullptr, true, -1, 0, 1.5, "x", Json::array(), Json::object(), Json::array({1, "a"})};
  const std::vector<std::pair<Json, bool>> roots = {{notification(Json{invoke(kToken, 1), success(kToken)}), true},
                                                    {mintTransaction(), false}};
  std::size_t tried = 0;
  for (const auto& [root, live] : roots) {
    const auto flat = root.flatten();
    for (const auto& [pointer, unused] : flat.items()) {
      for (const auto& replacement : replacements) {
        auto input = root;
        input[Json::json_pointer(pointer)] = replacement;
        EXPECT_NO_THROW({
          const auto built =
              live ? buildFromLogsNotification(input, kToken, {}) : buildFromTransaction(input, kToken, {});
          EXPECT_NE(built.ok(), built.event.is_null()) << pointer;
        });
        ++tried;
      }
    }
  }
  EXPECT_GT(tried, 100u);
}

}  // namespace
}  // namespace eventnode::plugins::solana_listener
