// ConfigBinding: one declaration gives the schema the host validates and the
// typed settings the plugin reads (config_binding.hpp), checked with the
// host's own validator.
#include <eventnode/plugin/config_binding.hpp>

#include "config/schema_validator.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace eventnode::plugin {
namespace {

struct Peer {
  std::string id;
  std::string address = "127.0.0.1:9000";
};

struct Backoff {
  std::chrono::milliseconds min{500};
  std::chrono::milliseconds max{30000};
};

struct Settings {
  std::string url = "ws://127.0.0.1:8900";
  std::string commitment = "confirmed";
  bool verify = true;
  std::size_t capacity = 1000;
  double ratio = 0.5;
  std::chrono::milliseconds interval{15000};  ///< read in seconds
  std::vector<std::string> tags;
  std::vector<Peer> peers;
  Backoff backoff;
  struct {
    std::string name = "inner-default";
  } inner;  ///< bound through an accessor: the YAML key is flat
};

ConfigBinding<Settings> binding() {
  ConfigBinding<Peer> peer;
  peer.field("id", &Peer::id, "the peer's id").required();
  peer.field("address", &Peer::address, "host:port");
  ConfigBinding<Backoff> backoff;
  backoff.duration<std::chrono::milliseconds>("min_ms", &Backoff::min, "first delay").minimum(10);
  backoff.duration<std::chrono::milliseconds>("max_ms", &Backoff::max, "longest delay").minimum(10);

  ConfigBinding<Settings> b;
  b.field("url", &Settings::url, "where to connect");
  b.field("commitment", &Settings::commitment, "how final").allowed({"processed", "confirmed", "finalized"});
  b.field("verify", &Settings::verify, "check signatures");
  b.field("capacity", &Settings::capacity, "how many").minimum(1).maximum(1'000'000);
  b.field("ratio", &Settings::ratio, "a share");
  b.duration<std::chrono::seconds>("interval_seconds", &Settings::interval, "how often").minimum(1);
  b.field("tags", &Settings::tags, "labels");
  b.list("peers", &Settings::peers, "the peers", std::move(peer));
  b.map("backoff", &Settings::backoff, "redial delays", std::move(backoff));
  b.field("inner_name", [](Settings& s) -> auto& { return s.inner.name; }, "a nested member, flat in YAML");
  return b;
}

/// Validates `text` as the host does and collects the problems.
YAML::Node validate(const std::string& text, std::vector<core::ConfigProblem>& problems) {
  return core::validateAgainstSchema(YAML::Load(text), binding().schema(), "plugins[0].config", 1, problems);
}

/// What configure() would read, once the host found no problem.
Settings load(const std::string& text, std::vector<core::ConfigProblem>& problems) {
  const auto validated = validate(text, problems);
  return problems.empty() ? binding().read(validated) : Settings{};
}

TEST(Unit, TheSchemaTakesItsTypesFromTheMembersAndItsDefaultsFromTheStruct) {
  const auto schema = binding().schema();
  ASSERT_EQ(schema.size(), 10u);
  EXPECT_EQ(schema[0].type, FieldType::String);
  EXPECT_EQ(schema[0].default_value.as<std::string>(), "ws://127.0.0.1:8900");
  EXPECT_EQ(schema[2].type, FieldType::Boolean);
  EXPECT_EQ(schema[3].type, FieldType::Integer);
  EXPECT_EQ(schema[3].maximum, 1'000'000);
  EXPECT_EQ(schema[4].type, FieldType::Number);
  EXPECT_EQ(schema[5].type, FieldType::Integer);
  EXPECT_EQ(schema[5].default_value.as<long long>(), 15);
  EXPECT_EQ(schema[6].type, FieldType::List);
  EXPECT_EQ(schema[6].item_type, FieldType::String);
  EXPECT_EQ(schema[7].item_type, FieldType::Map);
  ASSERT_EQ(schema[7].fields.size(), 2u);
  EXPECT_TRUE(schema[7].fields[0].required);
  EXPECT_EQ(schema[8].type, FieldType::Map);
  EXPECT_EQ(schema[8].fields[0].default_value.as<long long>(), 500);
}

TEST(Unit, AnEmptyConfigReadsAsTheStructsDefaults) {
  std::vector<core::ConfigProblem> problems;
  const auto settings = load("{}", problems);
  ASSERT_TRUE(problems.empty()) << problems[0].message;
  EXPECT_EQ(settings.url, "ws://127.0.0.1:8900");
  EXPECT_EQ(settings.capacity, 1000u);
  EXPECT_EQ(settings.interval, std::chrono::seconds(15));
  EXPECT_EQ(settings.inner.name, "inner-default");
  EXPECT_TRUE(settings.peers.empty());
  EXPECT_EQ(settings.backoff.max, std::chrono::milliseconds(30000));
}

TEST(Unit, EveryKeyIsReadIntoItsMember) {
  std::vector<core::ConfigProblem> problems;
  const auto settings = load(R"(
url: wss://rpc.example
commitment: finalized
verify: false
capacity: 42
ratio: 0.25
interval_seconds: 3
tags: [a, b]
peers:
  - {id: mn1, address: "10.0.0.1:9000"}
  - {id: mn2}
backoff: {min_ms: 20}
inner_name: flat
)",
                             problems);
  ASSERT_TRUE(problems.empty()) << problems[0].message;
  EXPECT_EQ(settings.url, "wss://rpc.example");
  EXPECT_EQ(settings.commitment, "finalized");
  EXPECT_FALSE(settings.verify);
  EXPECT_EQ(settings.capacity, 42u);
  EXPECT_DOUBLE_EQ(settings.ratio, 0.25);
  EXPECT_EQ(settings.interval, std::chrono::seconds(3));
  EXPECT_EQ(settings.tags, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(settings.peers.size(), 2u);
  EXPECT_EQ(settings.peers[0].address, "10.0.0.1:9000");
  EXPECT_EQ(settings.peers[1].id, "mn2");
  EXPECT_EQ(settings.peers[1].address, "127.0.0.1:9000") << "an item's absent key takes the item struct's default";
  EXPECT_EQ(settings.backoff.min, std::chrono::milliseconds(20));
  EXPECT_EQ(settings.backoff.max, std::chrono::milliseconds(30000));
  EXPECT_EQ(settings.inner.name, "flat");
}

TEST(Unit, ARequiredKeyInsideAnAbsentNestedMappingIsReported) {
  struct Inner {
    std::string must;
  };
  struct Outer {
    Inner inner;
  };
  ConfigBinding<Inner> inner;
  inner.field("must", &Inner::must, "a key that must be set").required();
  ConfigBinding<Outer> outer;
  outer.map("inner", &Outer::inner, "a section", std::move(inner));
  std::vector<core::ConfigProblem> problems;
  core::validateAgainstSchema(YAML::Load("{}"), outer.schema(), "plugins[0].config", 1, problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, "plugins[0].config.inner.must");
}

TEST(Unit, TheHostRefusesWhatTheBindingDeclaresWithPaths) {
  std::vector<core::ConfigProblem> problems;
  validate("{commitment: soon, capacity: 0, verify: maybe, peers: [{address: x}], backoff: {min_ms: 1}, colour: red}",
           problems);
  std::string all;
  for (const auto& p : problems) all += p.path + ": " + p.message + "\n";
  EXPECT_NE(all.find("plugins[0].config.commitment: 'soon' is not one of"), std::string::npos) << all;
  EXPECT_NE(all.find("plugins[0].config.capacity: 0 is below the minimum 1"), std::string::npos) << all;
  EXPECT_NE(all.find("plugins[0].config.verify"), std::string::npos) << all;
  EXPECT_NE(all.find("plugins[0].config.peers[0].id"), std::string::npos) << all;
  EXPECT_NE(all.find("plugins[0].config.backoff.min_ms: 1 is below the minimum 10"), std::string::npos) << all;
  EXPECT_NE(all.find("plugins[0].config.colour: unknown key"), std::string::npos) << all;
}

}  // namespace
}  // namespace eventnode::plugin
