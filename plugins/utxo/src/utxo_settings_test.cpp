// The utxo config: the keys bind to the structs the ledger and the P2P mesh
// use, and the checks the schema cannot express name the key at fault.
#include "utxo_settings.hpp"

#include <eventnode/plugin/config_error.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>

namespace eventnode::plugins::utxo {
namespace {

const std::string kKey = "abababababababababababababababababababababababababababababababab";

TEST(UtxoSettings, AnEmptyConfigIsANetworkOfOneWithTheStructsDefaults) {
  const auto config = readConfig(YAML::Load("{}"));
  EXPECT_FALSE(config.mainnet());
  EXPECT_FALSE(config.walletAuthenticated());
  EXPECT_FALSE(config.fullSync());
  EXPECT_TRUE(config.masternodes.empty());
  EXPECT_EQ(config.listen.host, "0.0.0.0");
  EXPECT_EQ(config.listen.port, 24100);
  EXPECT_EQ(config.settings.p2p.link.ping_interval, std::chrono::seconds(30));
  EXPECT_EQ(config.settings.ledger.lock_timeout_seconds, 60);
  EXPECT_TRUE(config.settings.ledger.verify_signatures);
  EXPECT_EQ(config.settings.limits.max_inputs, 256u);
  EXPECT_EQ(config.settings.limits.max_outputs, 256u);
  EXPECT_EQ(config.settings.signature_checks_per_second, 500);
  EXPECT_EQ(config.settings.signature_checks_burst, 1000);
}

TEST(UtxoSettings, TheLimitsAreReadAndBounded) {
  const auto config = readConfig(YAML::Load(R"(
max_inputs_per_transaction: 16
max_outputs_per_transaction: 32
signature_checks_per_second: 0
signature_checks_burst: 64
)"));
  EXPECT_EQ(config.settings.limits.max_inputs, 16u);
  EXPECT_EQ(config.settings.limits.max_outputs, 32u);
  EXPECT_EQ(config.settings.signature_checks_per_second, 0);
  EXPECT_EQ(config.settings.signature_checks_burst, 64);
  const auto schema = settingsBinding().schema();
  auto bound = [&](const std::string& name) {
    for (const auto& field : schema) {
      if (field.name == name) return std::pair{field.minimum, field.maximum};
    }
    ADD_FAILURE() << name << " is not in the schema";
    return std::pair<std::optional<double>, std::optional<double>>{};
  };
  EXPECT_EQ(bound("max_inputs_per_transaction"), (std::pair<std::optional<double>, std::optional<double>>{1, 10000}));
  EXPECT_EQ(bound("max_outputs_per_transaction"), (std::pair<std::optional<double>, std::optional<double>>{1, 10000}));
  EXPECT_EQ(bound("signature_checks_per_second").first, 0);
  EXPECT_EQ(bound("signature_checks_burst").first, 1);
}

TEST(UtxoSettings, NestedAndFlatKeysAreReadIntoTheLedgerAndP2pConfigs) {
  const auto config = readConfig(YAML::Load(R"(
network: mainnet
masternodes: [{id: mn1, address: "10.0.0.1:24100"}, {id: mn2, address: "10.0.0.2:24101"}]
p2p: {listen: "127.0.0.1:7000", ping_interval_seconds: 5, reconnect_max_ms: 900}
lock_timeout_seconds: 12
verify_signatures: false
sync: full
)"));
  EXPECT_TRUE(config.mainnet());
  EXPECT_TRUE(config.fullSync());
  ASSERT_EQ(config.masternodes.size(), 2u);
  EXPECT_EQ(config.masternodes[1].id, "mn2");
  EXPECT_EQ(config.masternodes[1].port, 24101);
  EXPECT_EQ(config.listen.port, 7000);
  EXPECT_EQ(config.settings.p2p.link.ping_interval, std::chrono::seconds(5));
  EXPECT_EQ(config.settings.p2p.link.reconnect_max, std::chrono::milliseconds(900));
  EXPECT_EQ(config.settings.ledger.lock_timeout_seconds, 12);
  EXPECT_FALSE(config.settings.ledger.verify_signatures);
  EXPECT_TRUE(config.public_keys.empty());
}

TEST(UtxoSettings, AConfigTheSchemaCannotCheckIsRefusedAtTheKeyAtFault) {
  const std::string two = "{masternodes: [{id: mn1, address: 'a:1', public_key: " + kKey + "}, ";
  const struct {
    std::string yaml;
    std::string key;
    std::string message;
  } cases[] = {
      {"masternodes: [{id: mn1, address: nohost}]", "masternodes[0].address",
       "masternodes[0].address must be host:port, got 'nohost'"},
      {"masternodes: [{id: mn1, address: 'a:99999'}]", "masternodes[0].address",
       "masternodes[0].address has a bad port in 'a:99999'"},
      {"masternodes: [{id: '', address: 'a:1'}]", "masternodes[0].id", "a masternode id is empty"},
      {"masternodes: [{id: mn1, address: 'a:1'}, {id: mn1, address: 'b:1'}]", "masternodes[1].id",
       "masternode id 'mn1' is listed twice"},
      {two + "{id: mn2, address: 'b:1', public_key: abc}]}", "masternodes[1].public_key",
       "the public_key of mn2 must be 64 hex characters"},
      {two + "{id: mn2, address: 'b:1'}], p2p: {private_key_file: k.pem}}", "masternodes[1]",
       "mn2 has no public_key; once one masternode has a key, every one needs one"},
      {"{masternode_id: mn9, masternodes: [{id: mn1, address: 'a:1'}]}", "masternode_id",
       "masternode_id 'mn9' is not in masternodes"},
      {"p2p: {listen: '0.0.0.0:'}", "p2p.listen", "p2p.listen must be host:port, got '0.0.0.0:'"},
      {"masternodes: [{id: mn1, address: 'a:1', public_key: " + kKey + "}]", "p2p.private_key_file",
       "p2p.private_key_file is needed: the masternodes have public keys"},
  };
  for (const auto& c : cases) {
    try {
      readConfig(YAML::Load(c.yaml));
      ADD_FAILURE() << "accepted " << c.yaml;
    } catch (const plugin::ConfigError& e) {
      EXPECT_EQ(e.key(), c.key) << c.yaml;
      EXPECT_EQ(std::string(e.what()), c.message) << c.yaml;
    }
  }
}

}  // namespace
}  // namespace eventnode::plugins::utxo
