// The pow_batches config: the keys bind to the structs the intake uses, and
// the checks the schema cannot express name the key at fault.
#include "pow_settings.hpp"

#include <eventnode/plugin/config_error.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace eventnode::plugins::pow_batches {
namespace {

TEST(PowSettings, TheSchemaDefaultsAreTheIntakeStructsDefaults) {
  const auto schema = settingsBinding().schema();
  const IntakeTiming timing;
  auto defaultOf = [&](const std::string& name) {
    for (const auto& field : schema)
      if (field.name == name) return field.default_value.as<long long>();
    ADD_FAILURE() << "no key " << name;
    return -1LL;
  };
  EXPECT_EQ(defaultOf("reconnect_delay_ms"), timing.reconnect_delay.count());
  EXPECT_EQ(defaultOf("ping_interval_seconds"), timing.ping_interval.count());
  EXPECT_EQ(defaultOf("max_message_bytes"), static_cast<long long>(timing.max_message_bytes));
}

TEST(PowSettings, FlatTimingKeysAndListEntriesAreReadIntoTheirStructs) {
  const auto settings = readSettings(YAML::Load(R"(
nodes: [{id: ml1, node_num: 7, url: "http://10.0.0.5:8080", autostart: false}]
reconnect_delay_ms: 1500
silence_timeout_seconds: 9
recorders: [{name: chain, type: http, url: "http://rec", timeout_ms: 700}]
)"));
  EXPECT_EQ(settings.timing.reconnect_delay, std::chrono::milliseconds(1500));
  EXPECT_EQ(settings.timing.silence_timeout, std::chrono::seconds(9));
  EXPECT_EQ(settings.timing.dial_timeout, IntakeTiming{}.dial_timeout);
  ASSERT_EQ(settings.nodes.size(), 1u);
  EXPECT_EQ(settings.nodes[0].node_num, 7u);
  EXPECT_FALSE(settings.nodes[0].autostart);
  ASSERT_EQ(settings.recorders.size(), 1u);
  EXPECT_EQ(settings.recorders[0].timeout, std::chrono::milliseconds(700));
  EXPECT_EQ(settings.recorders[0].max_backoff, RecorderConfig{}.max_backoff);
}

TEST(PowSettings, AConfigTheSchemaCannotCheckIsRefusedAtTheKeyAtFault) {
  const struct {
    const char* yaml;
    const char* key;
    const char* message;
  } cases[] = {
      {"nodes: [{id: a, node_num: 1, url: 'http://x'}, {id: a, node_num: 2, url: 'http://y'}]", "nodes[1].id",
       "ML node id 'a' is listed twice"},
      {"nodes: [{id: a, node_num: 1, url: 'http://x'}, {id: b, node_num: 1, url: 'http://y'}]", "nodes[1].node_num",
       "node_num 1 is listed twice"},
      {"nodes: [{id: a, node_num: 1, url: 'ws://x'}]", "nodes[0].url",
       "the url of 'a' must start with http:// or https://"},
      {"recorders: [{name: r, type: topic}, {name: r, type: topic}]", "recorders[1].name",
       "recorder name 'r' is listed twice"},
      {"recorders: [{name: r, type: http, url: 'https://x'}]", "recorders[0].url",
       "recorder 'r' of type http needs an http:// url"},
  };
  for (const auto& c : cases) {
    try {
      readSettings(YAML::Load(c.yaml));
      ADD_FAILURE() << "accepted " << c.yaml;
    } catch (const plugin::ConfigError& e) {
      EXPECT_EQ(e.key(), c.key) << c.yaml;
      EXPECT_STREQ(e.what(), c.message) << c.yaml;
    }
  }
}

}  // namespace
}  // namespace eventnode::plugins::pow_batches
