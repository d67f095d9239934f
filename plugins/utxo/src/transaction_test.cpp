#include "transaction.hpp"

#include "txid.hpp"

#include <gtest/gtest.h>

#include <functional>

namespace eventnode::plugins::utxo {
namespace {

using plugin::Json;

const std::string kPrev(64, '0');

/// A valid transaction's JSON, with `edit` applied before the txid is computed.
Json validTransaction(const std::function<void(Transaction&)>& edit = {}) {
  Transaction tx;
  tx.inputs.push_back({{kPrev, 0}, {1, 2, 3}, {4, 5}, 0xFFFFFFFF});
  tx.outputs.push_back({1000, "TIME0alice"});
  tx.timestamp = 1700000000;
  if (edit) edit(tx);
  tx.txid = computeTxid(tx);
  return toJson(tx);
}

TEST(TransactionJson, RoundTripsAValidTransaction) {
  const auto json = validTransaction();
  const auto tx = parseTransaction(json, kTestnetPrefix);
  EXPECT_EQ(tx.txid, computeTxid(tx));
  EXPECT_EQ(toJson(tx), json);
  EXPECT_EQ(tx.inputs[0].sequence, 0xFFFFFFFFu);
}

struct BadCase {
  const char* name;
  std::function<void(Json&)> spoil;
  const char* expected;  ///< part of the error message
};

TEST(TransactionJson, RefusesEveryBadFormNamingTheField) {
  const std::vector<BadCase> cases = {
      {"NotAnObject", [](Json& j) { j = Json::array(); }, "must be a JSON object"},
      {"NoTxid", [](Json& j) { j.erase("txid"); }, "transaction.txid is missing"},
      {"TxidNotHex", [](Json& j) { j["txid"] = std::string(64, 'Z'); }, "txid must be 64 lowercase hex"},
      {"TxidMismatch", [](Json& j) { j["txid"] = std::string(64, 'f'); }, "does not match its contents"},
      {"VersionNegative", [](Json& j) { j["version"] = -1; }, "transaction.version"},
      {"TimestampString", [](Json& j) { j["timestamp"] = "now"; }, "transaction.timestamp must be an integer"},
      {"LockTimeTooBig", [](Json& j) { j["lock_time"] = 4294967296LL; }, "transaction.lock_time"},
      {"InputsEmpty", [](Json& j) { j["inputs"] = Json::array(); }, "inputs must be a non-empty array"},
      {"InputsNotArray", [](Json& j) { j["inputs"] = 1; }, "inputs must be a non-empty array"},
      {"InputNoOutpoint", [](Json& j) { j["inputs"][0].erase("previous_output"); }, "inputs[0].previous_output is missing"},
      {"InputBadVout", [](Json& j) { j["inputs"][0]["previous_output"]["vout"] = -1; }, "previous_output.vout"},
      {"PublicKeyNotBytes", [](Json& j) { j["inputs"][0]["public_key"] = Json::array({256}); }, "public_key must hold integers 0..255"},
      {"SignatureNotArray", [](Json& j) { j["inputs"][0]["signature"] = "abc"; }, "signature must be an array of bytes"},
      {"SequenceMissing", [](Json& j) { j["inputs"][0].erase("sequence"); }, "inputs[0].sequence is missing"},
      {"InputTwice", [](Json& j) { j["inputs"].push_back(j["inputs"][0]); }, "a second time"},
      {"OutputsEmpty", [](Json& j) { j["outputs"] = Json::array(); }, "outputs must be a non-empty array"},
      {"AmountNegative", [](Json& j) { j["outputs"][0]["amount"] = -5; }, "outputs[0].amount"},
      {"AmountFloat", [](Json& j) { j["outputs"][0]["amount"] = 1.5; }, "outputs[0].amount"},
      {"AddressWrongPrefix", [](Json& j) { j["outputs"][0]["address"] = "BTC1abc"; }, "outputs[0].address is not a valid address"},
      {"AddressMainnetOnTestnet", [](Json& j) { j["outputs"][0]["address"] = "TIME1abc"; }, "must be TIME0"},
      {"AddressOnlyPrefix", [](Json& j) { j["outputs"][0]["address"] = "TIME0"; }, "is not a valid address"},
      {"AddressSymbols", [](Json& j) { j["outputs"][0]["address"] = "TIME0a-b"; }, "is not a valid address"},
      {"OutputsOverflow",
       [](Json& j) {
         j["outputs"] = Json::array({Json{{"amount", 18446744073709551615ull}, {"address", "TIME0a"}},
                                     Json{{"amount", 1}, {"address", "TIME0b"}}});
       },
       "more than 2^64-1"},
  };
  for (const auto& c : cases) {
    auto json = validTransaction();
    c.spoil(json);
    try {
      parseTransaction(json, kTestnetPrefix);
      ADD_FAILURE() << c.name << ": accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(c.expected), std::string::npos) << c.name << ": " << e.what();
    }
  }
}

TEST(TransactionLimits, TooManyInputsOrOutputsAreRefusedByCountBeforeAnyInputIsRead) {
  const TransactionLimits limits{.max_inputs = 3, .max_outputs = 2};
  auto json = validTransaction([](Transaction& tx) {
    for (std::uint32_t vout = 1; vout < 3; ++vout) tx.inputs.push_back({{kPrev, vout}, {1}, {2}, 0});
    tx.outputs.push_back({1, "TIME0bob"});
  });
  EXPECT_NO_THROW(parseTransaction(json, kTestnetPrefix, limits));  // at the caps

  auto inputs = json;
  inputs["inputs"].push_back(Json("not an input"));  // the count is refused before this is read
  try {
    parseTransaction(inputs, kTestnetPrefix, limits);
    ADD_FAILURE() << "accepted 4 inputs";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "transaction.inputs has 4 inputs; a transaction may have at most 3 (max_inputs_per_transaction)");
  }
  auto outputs = json;
  outputs["outputs"].push_back(Json("not an output"));
  outputs["inputs"][0] = Json("not an input");  // neither is any input
  try {
    parseTransaction(outputs, kTestnetPrefix, limits);
    ADD_FAILURE() << "accepted 3 outputs";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "transaction.outputs has 3 outputs; a transaction may have at most 2 (max_outputs_per_transaction)");
  }
}

TEST(TransactionLimits, TheDefaultsAre256InputsAnd256Outputs) {
  const TransactionLimits limits;
  EXPECT_EQ(limits.max_inputs, 256u);
  EXPECT_EQ(limits.max_outputs, 256u);
  auto json = validTransaction([](Transaction& tx) {
    for (std::uint32_t vout = 1; vout < 257; ++vout) tx.inputs.push_back({{kPrev, vout}, {1}, {2}, 0});
  });
  EXPECT_THROW(parseTransaction(json, kTestnetPrefix), InputError);
}

TEST(TransactionTotal, SaturatesInsteadOfWrapping) {
  Transaction tx;
  tx.outputs = {{18446744073709551615ull, "TIME0a"}, {2, "TIME0b"}};
  EXPECT_EQ(tx.outputTotal(), 18446744073709551615ull);
  tx.outputs = {{5, "TIME0a"}, {7, "TIME0b"}};
  EXPECT_EQ(tx.outputTotal(), 12u);
}

TEST(Addresses, AcceptOnlyTheNetworksPrefix) {
  EXPECT_TRUE(isValidAddress("TIME0abc123", kTestnetPrefix));
  EXPECT_TRUE(isValidAddress("TIME1abc123", kMainnetPrefix));
  EXPECT_FALSE(isValidAddress("TIME1abc123", kTestnetPrefix));
  EXPECT_FALSE(isValidAddress("TIME2abc", kTestnetPrefix));
  EXPECT_FALSE(isValidAddress("time0abc", kTestnetPrefix));
  EXPECT_FALSE(isValidAddress("TIME0" + std::string(101, 'a'), kTestnetPrefix));
  EXPECT_TRUE(isValidAddress("TIME0" + std::string(100, 'a'), kTestnetPrefix));
}

TEST(OutPointKey, ParsesTxidColonVout) {
  const auto outpoint = parseOutPointKey(kPrev + ":4294967295");
  EXPECT_EQ(outpoint.txid, kPrev);
  EXPECT_EQ(outpoint.vout, 4294967295u);
  for (const auto* bad : {"", "abc", ":1", "0000:1"}) EXPECT_THROW(parseOutPointKey(bad), InputError) << bad;
  EXPECT_THROW(parseOutPointKey(kPrev + ":4294967296"), InputError);
  EXPECT_THROW(parseOutPointKey(kPrev + ":-1"), InputError);
  EXPECT_THROW(parseOutPointKey(kPrev + ":"), InputError);
}

TEST(VoteJson, RefusesBadForms) {
  const Json good{{"txid", kPrev}, {"voter", "mn2"}, {"approve", true}, {"timestamp", 1}};
  EXPECT_EQ(toJson(parseVote(good)), good);
  for (const auto& key : {"txid", "voter", "approve", "timestamp"}) {
    auto bad = good;
    bad.erase(key);
    EXPECT_THROW(parseVote(bad), InputError) << key;
  }
  auto bad = good;
  bad["approve"] = "yes";
  EXPECT_THROW(parseVote(bad), InputError);
  bad = good;
  bad["voter"] = "";
  EXPECT_THROW(parseVote(bad), InputError);
}

}  // namespace
}  // namespace eventnode::plugins::utxo
