#include "config/schema_validator.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace eventnode::core {
namespace {

using plugin::ConfigField;
using plugin::ConfigSchema;
using plugin::FieldType;

/// A plugin-like schema exercising every field type.
ConfigSchema testSchema() {
  return {
      {.name = "name", .description = "display name", .default_value = YAML::Node("node-1")},
      {.name = "mode", .description = "how it runs", .default_value = YAML::Node("fast"), .allowed = {"fast", "safe"}},
      {.name = "port",
       .type = FieldType::Integer,
       .description = "TCP port",
       .default_value = YAML::Node(8080),
       .minimum = 1,
       .maximum = 65535},
      {.name = "ratio",
       .type = FieldType::Number,
       .description = "a fraction",
       .default_value = YAML::Node(0.5),
       .minimum = 0.0,
       .maximum = 1.0},
      {.name = "enabled", .type = FieldType::Boolean, .description = "on or off", .default_value = YAML::Node(true)},
      {.name = "tags", .type = FieldType::List, .description = "labels", .item_type = FieldType::String},
      {.name = "a",
       .type = FieldType::Map,
       .description = "nested",
       .fields = {{.name = "b",
                   .type = FieldType::Map,
                   .description = "deeper",
                   .fields = {{.name = "c",
                               .type = FieldType::Integer,
                               .description = "leaf",
                               .default_value = YAML::Node(3)},
                              {.name = "d", .description = "leaf string", .default_value = YAML::Node("dee")}}}}},
      {.name = "peers",
       .type = FieldType::List,
       .description = "peer nodes",
       .item_type = FieldType::Map,
       .fields = {{.name = "host", .description = "host name", .required = true},
                  {.name = "weight",
                   .type = FieldType::Integer,
                   .description = "share",
                   .default_value = YAML::Node(1),
                   .minimum = 0}}},
      {.name = "limits",
       .type = FieldType::Dictionary,
       .description = "limit per topic",
       .item_type = FieldType::Integer,
       .minimum = 0,
       .maximum = 100},
  };
}

struct Validated {
  YAML::Node result;
  std::vector<ConfigProblem> problems;
};

Validated validate(const std::string& yaml, const ConfigSchema& schema = testSchema(),
                   const std::string& path = "cfg") {
  Validated out;
  out.result = validateAgainstSchema(YAML::Load(yaml), schema, path, 7, out.problems);
  return out;
}

std::string describe(const std::vector<ConfigProblem>& problems) {
  std::string text;
  for (const auto& p : problems) text += p.format("test.yaml") + "\n";
  return text;
}

const ConfigProblem* findProblem(const std::vector<ConfigProblem>& problems, const std::string& path) {
  for (const auto& p : problems) {
    if (p.path == path) return &p;
  }
  return nullptr;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(SchemaValidator, NullInputGivesAllDefaults) {
  const auto v = validate("");  // a null document
  ASSERT_TRUE(v.problems.empty()) << describe(v.problems);
  EXPECT_EQ(v.result["name"].as<std::string>(), "node-1");
  EXPECT_EQ(v.result["mode"].as<std::string>(), "fast");
  EXPECT_EQ(v.result["port"].as<int>(), 8080);
  EXPECT_DOUBLE_EQ(v.result["ratio"].as<double>(), 0.5);
  EXPECT_TRUE(v.result["enabled"].as<bool>());
  ASSERT_TRUE(v.result["tags"].IsSequence());
  EXPECT_EQ(v.result["tags"].size(), 0u);
  ASSERT_TRUE(v.result["a"].IsMap());
  EXPECT_EQ(v.result["a"]["b"]["c"].as<int>(), 3);
  EXPECT_EQ(v.result["a"]["b"]["d"].as<std::string>(), "dee");
  ASSERT_TRUE(v.result["peers"].IsSequence());
  EXPECT_EQ(v.result["peers"].size(), 0u);
  ASSERT_TRUE(v.result["limits"].IsMap());
  EXPECT_EQ(v.result["limits"].size(), 0u);
}

TEST(SchemaValidator, DefaultsFillOnlyTheMissingKeys) {
  const auto v = validate("name: mine\nport: 9000\na:\n  b:\n    c: 10\n");
  ASSERT_TRUE(v.problems.empty()) << describe(v.problems);
  EXPECT_EQ(v.result["name"].as<std::string>(), "mine");
  EXPECT_EQ(v.result["port"].as<int>(), 9000);
  EXPECT_EQ(v.result["mode"].as<std::string>(), "fast");
  EXPECT_TRUE(v.result["enabled"].as<bool>());
  EXPECT_EQ(v.result["a"]["b"]["c"].as<int>(), 10);
  EXPECT_EQ(v.result["a"]["b"]["d"].as<std::string>(), "dee");
}

TEST(SchemaValidator, ExplicitNullValueTakesTheDefault) {
  const auto v = validate("port: ~\nname:\n");
  ASSERT_TRUE(v.problems.empty()) << describe(v.problems);
  EXPECT_EQ(v.result["port"].as<int>(), 8080);
  EXPECT_EQ(v.result["name"].as<std::string>(), "node-1");
}

TEST(SchemaValidator, ResultIsACopyNotAViewOfTheInput) {
  auto input = YAML::Load("name: original\n");
  std::vector<ConfigProblem> problems;
  const auto result = validateAgainstSchema(input, testSchema(), "", 0, problems);
  input["name"] = "changed";
  EXPECT_EQ(result["name"].as<std::string>(), "original");
}

TEST(SchemaValidator, MissingRequiredKeyIsReportedAtTheParentLine) {
  const ConfigSchema schema{
      {.name = "url", .description = "where to connect", .required = true},
      {.name = "retries", .type = FieldType::Integer, .description = "tries", .default_value = YAML::Node(3)}};
  const auto v = validate("retries: 5\n", schema, "plugins[0].config");
  ASSERT_EQ(v.problems.size(), 1u) << describe(v.problems);
  EXPECT_EQ(v.problems[0].path, "plugins[0].config.url");
  EXPECT_EQ(v.problems[0].line, 7);
  EXPECT_TRUE(contains(v.problems[0].message, "missing required key")) << v.problems[0].message;
  EXPECT_TRUE(contains(v.problems[0].message, "where to connect")) << v.problems[0].message;
  EXPECT_FALSE(v.result["url"].IsDefined());
}

TEST(SchemaValidator, MissingRequiredKeyIsReportedForNullInputToo) {
  const ConfigSchema schema{{.name = "url", .description = "where to connect", .required = true}};
  const auto v = validate("", schema);
  ASSERT_EQ(v.problems.size(), 1u) << describe(v.problems);
  EXPECT_EQ(v.problems[0].path, "cfg.url");
}

TEST(SchemaValidator, UnknownKeyIsReportedWithPathLineAndAllowedKeys) {
  const auto v = validate("name: x\nprot: 80\n");
  ASSERT_EQ(v.problems.size(), 1u) << describe(v.problems);
  EXPECT_EQ(v.problems[0].path, "cfg.prot");
  EXPECT_EQ(v.problems[0].line, 2);
  EXPECT_TRUE(contains(v.problems[0].message, "unknown key")) << v.problems[0].message;
  EXPECT_TRUE(contains(v.problems[0].message, "name, mode, port, ratio, enabled, tags, a, peers, limits"))
      << v.problems[0].message;
  EXPECT_FALSE(v.result["prot"].IsDefined());
}

TEST(SchemaValidator, EmptyPathPrefixGivesBareKeyPaths) {
  const auto v = validate("prot: 80\n", testSchema(), "");
  ASSERT_EQ(v.problems.size(), 1u) << describe(v.problems);
  EXPECT_EQ(v.problems[0].path, "prot");
}

TEST(SchemaValidator, NestedMapProblemsCarryTheFullPath) {
  const auto v = validate("a:\n  b:\n    c: notanumber\n    e: 1\n");
  ASSERT_EQ(v.problems.size(), 2u) << describe(v.problems);
  const auto* wrong_type = findProblem(v.problems, "cfg.a.b.c");
  ASSERT_NE(wrong_type, nullptr) << describe(v.problems);
  EXPECT_EQ(wrong_type->line, 3);
  EXPECT_EQ(wrong_type->message, "expected an integer, got 'notanumber'");
  const auto* unknown = findProblem(v.problems, "cfg.a.b.e");
  ASSERT_NE(unknown, nullptr) << describe(v.problems);
  EXPECT_EQ(unknown->line, 4);
  EXPECT_TRUE(contains(unknown->message, "allowed keys: c, d")) << unknown->message;
}

TEST(SchemaValidator, MapFieldGivenAScalarIsReported) {
  const auto v = validate("a: 5\n");
  ASSERT_EQ(v.problems.size(), 1u) << describe(v.problems);
  EXPECT_EQ(v.problems[0].path, "cfg.a");
  EXPECT_EQ(v.problems[0].line, 1);
  EXPECT_EQ(v.problems[0].message, "expected a mapping, got '5'");
}

TEST(SchemaValidator, InputThatIsNotAMappingIsReportedWithTheAllowedKeys) {
  const auto v = validate("- a\n- b\n");
  ASSERT_EQ(v.problems.size(), 1u) << describe(v.problems);
  EXPECT_EQ(v.problems[0].path, "cfg");
  EXPECT_TRUE(contains(v.problems[0].message, "expected a mapping with keys: name, mode")) << v.problems[0].message;
}

TEST(SchemaValidator, ListItemOfWrongTypeIsReportedWithItsIndex) {
  const auto v = validate("tags:\n  - one\n  - [nested]\n  - three\n  - {k: v}\n");
  ASSERT_EQ(v.problems.size(), 2u) << describe(v.problems);
  EXPECT_EQ(v.problems[0].path, "cfg.tags[1]");
  EXPECT_EQ(v.problems[0].line, 3);
  EXPECT_EQ(v.problems[0].message, "expected a string, got a list");
  EXPECT_EQ(v.problems[1].path, "cfg.tags[3]");
  EXPECT_EQ(v.problems[1].line, 5);
  EXPECT_EQ(v.problems[1].message, "expected a string, got a mapping");
}

TEST(SchemaValidator, ListOfStringsIsKeptInOrder) {
  const auto v = validate("tags: [x, y, z]\n");
  ASSERT_TRUE(v.problems.empty()) << describe(v.problems);
  ASSERT_EQ(v.result["tags"].size(), 3u);
  EXPECT_EQ(v.result["tags"][0].as<std::string>(), "x");
  EXPECT_EQ(v.result["tags"][2].as<std::string>(), "z");
}

TEST(SchemaValidator, ListFieldGivenAScalarIsReported) {
  const auto v = validate("tags: single\n");
  ASSERT_EQ(v.problems.size(), 1u) << describe(v.problems);
  EXPECT_EQ(v.problems[0].path, "cfg.tags");
  EXPECT_EQ(v.problems[0].message, "expected a list, got 'single'");
}

TEST(SchemaValidator, ListOfMapsValidatesEachItemAndFillsItsDefaults) {
  const auto v = validate(
      "peers:\n"
      "  - host: a.example\n"
      "  - host: b.example\n"
      "    weight: 5\n");
  ASSERT_TRUE(v.problems.empty()) << describe(v.problems);
  ASSERT_EQ(v.result["peers"].size(), 2u);
  EXPECT_EQ(v.result["peers"][0]["host"].as<std::string>(), "a.example");
  EXPECT_EQ(v.result["peers"][0]["weight"].as<int>(), 1);
  EXPECT_EQ(v.result["peers"][1]["weight"].as<int>(), 5);
}

TEST(SchemaValidator, ListOfMapsReportsProblemsInsideItemsWithIndexedPaths) {
  const auto v = validate(
      "peers:\n"
      "  - host: a.example\n"
      "    weight: -1\n"
      "  - weight: 2\n"
      "  - host: c.example\n"
      "    colour: red\n"
      "  - just-a-string\n");
  ASSERT_EQ(v.problems.size(), 4u) << describe(v.problems);

  const auto* below = findProblem(v.problems, "cfg.peers[0].weight");
  ASSERT_NE(below, nullptr) << describe(v.problems);
  EXPECT_EQ(below->line, 3);
  EXPECT_TRUE(contains(below->message, "below the minimum 0")) << below->message;

  const auto* missing = findProblem(v.problems, "cfg.peers[1].host");
  ASSERT_NE(missing, nullptr) << describe(v.problems);
  EXPECT_EQ(missing->line, 4);  // the item's own line
  EXPECT_TRUE(contains(missing->message, "missing required key")) << missing->message;

  const auto* unknown = findProblem(v.problems, "cfg.peers[2].colour");
  ASSERT_NE(unknown, nullptr) << describe(v.problems);
  EXPECT_EQ(unknown->line, 6);
  EXPECT_TRUE(contains(unknown->message, "allowed keys: host, weight")) << unknown->message;

  const auto* not_map = findProblem(v.problems, "cfg.peers[3]");
  ASSERT_NE(not_map, nullptr) << describe(v.problems);
  EXPECT_EQ(not_map->line, 7);
  EXPECT_EQ(not_map->message, "expected a mapping, got 'just-a-string'");
}

TEST(SchemaValidator, DictionaryValuesAreCheckedUnderTheirKey) {
  const auto v = validate("limits:\n  pow:batch: 10\n  meter: lots\n  utxo: 500\n");
  ASSERT_EQ(v.problems.size(), 2u) << describe(v.problems);
  EXPECT_EQ(v.problems[0].path, "cfg.limits.meter");
  EXPECT_EQ(v.problems[0].line, 3);
  EXPECT_EQ(v.problems[0].message, "expected an integer, got 'lots'");
  EXPECT_EQ(v.problems[1].path, "cfg.limits.utxo");
  EXPECT_EQ(v.problems[1].line, 4);
  EXPECT_TRUE(contains(v.problems[1].message, "above the maximum 100")) << v.problems[1].message;
  EXPECT_EQ(v.result["limits"]["pow:batch"].as<int>(), 10);
}

TEST(SchemaValidator, DictionaryAcceptsAnyKeys) {
  const auto v = validate("limits:\n  a: 1\n  b: 2\n  anything-at-all: 3\n");
  ASSERT_TRUE(v.problems.empty()) << describe(v.problems);
  EXPECT_EQ(v.result["limits"].size(), 3u);
  EXPECT_EQ(v.result["limits"]["anything-at-all"].as<int>(), 3);
}

TEST(SchemaValidator, DictionaryFieldGivenAListIsReported) {
  const auto v = validate("limits: [1, 2]\n");
  ASSERT_EQ(v.problems.size(), 1u) << describe(v.problems);
  EXPECT_EQ(v.problems[0].path, "cfg.limits");
  EXPECT_EQ(v.problems[0].message, "expected a mapping, got a list");
}

TEST(SchemaValidator, StringOutsideTheAllowedValuesIsReportedWithTheOptions) {
  const auto v = validate("mode: turbo\n");
  ASSERT_EQ(v.problems.size(), 1u) << describe(v.problems);
  EXPECT_EQ(v.problems[0].path, "cfg.mode");
  EXPECT_EQ(v.problems[0].line, 1);
  EXPECT_EQ(v.problems[0].message, "'turbo' is not one of: fast, safe");
  EXPECT_TRUE(validate("mode: safe\n").problems.empty());
}

TEST(SchemaValidator, AllowedValuesApplyToDictionaryValues) {
  const ConfigSchema schema{{.name = "levels",
                             .type = FieldType::Dictionary,
                             .description = "per logger",
                             .item_type = FieldType::String,
                             .allowed = {"info", "debug"}}};
  const auto v = validate("levels:\n  core.server: debug\n  plugin.meter: loud\n", schema);
  ASSERT_EQ(v.problems.size(), 1u) << describe(v.problems);
  EXPECT_EQ(v.problems[0].path, "cfg.levels.plugin.meter");
  EXPECT_EQ(v.problems[0].message, "'loud' is not one of: info, debug");
}

TEST(SchemaValidator, StringFieldGivenAMappingIsReported) {
  const auto v = validate("name: {first: a}\n");
  ASSERT_EQ(v.problems.size(), 1u) << describe(v.problems);
  EXPECT_EQ(v.problems[0].message, "expected a string, got a mapping");
}

TEST(SchemaValidator, BoundsAreInclusiveAndReportedWhenExceeded) {
  struct Case {
    std::string yaml;
    std::string path;  // empty: no problem expected
    std::string message_part;
  };
  const std::vector<Case> cases{
      {"port: 1\n", "", ""},
      {"port: 65535\n", "", ""},
      {"port: 0\n", "cfg.port", "0 is below the minimum 1"},
      {"port: 65536\n", "cfg.port", "65536 is above the maximum 65535"},
      {"port: -3\n", "cfg.port", "-3 is below the minimum 1"},
      {"ratio: 0\n", "", ""},
      {"ratio: 1.0\n", "", ""},
      {"ratio: 0.25\n", "", ""},
      {"ratio: 1.5\n", "cfg.ratio", "1.5 is above the maximum 1"},
      {"ratio: -0.1\n", "cfg.ratio", "-0.1 is below the minimum 0"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.yaml);
    const auto v = validate(c.yaml);
    if (c.path.empty()) {
      EXPECT_TRUE(v.problems.empty()) << describe(v.problems);
      continue;
    }
    ASSERT_EQ(v.problems.size(), 1u) << describe(v.problems);
    EXPECT_EQ(v.problems[0].path, c.path);
    EXPECT_EQ(v.problems[0].line, 1);
    EXPECT_EQ(v.problems[0].message, c.message_part);
  }
}

TEST(SchemaValidator, IntegerNumberAndBooleanAcceptOnlyTheirKind) {
  struct Case {
    std::string yaml;
    std::string expected;  // empty: accepted
  };
  const std::vector<Case> cases{
      {"port: 80\n", ""},
      {"port: 80.5\n", "expected an integer, got '80.5'"},
      {"port: abc\n", "expected an integer, got 'abc'"},
      {"port: \"\"\n", "expected an integer, got ''"},
      {"port: true\n", "expected an integer, got 'true'"},
      {"port: [80]\n", "expected an integer, got a list"},
      {"ratio: 0.75\n", ""},
      {"ratio: 1\n", ""},
      {"ratio: 5e-1\n", ""},
      {"ratio: half\n", "expected a number, got 'half'"},
      {"ratio: .nan\n", "expected a number, got '.nan'"},
      {"ratio: .inf\n", "expected a number, got '.inf'"},
      {"enabled: false\n", ""},
      {"enabled: true\n", ""},
      {"enabled: maybe\n", "expected a boolean (true/false), got 'maybe'"},
      {"enabled: 1\n", "expected a boolean (true/false), got '1'"},
      {"enabled: {x: 1}\n", "expected a boolean (true/false), got a mapping"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.yaml);
    const auto v = validate(c.yaml);
    if (c.expected.empty()) {
      EXPECT_TRUE(v.problems.empty()) << describe(v.problems);
      continue;
    }
    ASSERT_EQ(v.problems.size(), 1u) << describe(v.problems);
    EXPECT_EQ(v.problems[0].message, c.expected);
    EXPECT_EQ(v.problems[0].line, 1);
  }
}

TEST(SchemaValidator, HexadecimalIntegerIsCheckedLikeAnyIntegerWithoutThrowing) {
  // yaml-cpp reads 0x50 as the integer 80, so the validator must accept it
  // (and check its bounds) rather than let a conversion exception escape.
  Validated v;
  ASSERT_NO_THROW(v = validate("port: 0x50\n"));
  EXPECT_TRUE(v.problems.empty()) << describe(v.problems);
  EXPECT_EQ(v.result["port"].as<int>(), 80);

  ASSERT_NO_THROW(v = validate("port: 0x10000\n"));
  ASSERT_EQ(v.problems.size(), 1u) << describe(v.problems);
  EXPECT_EQ(v.problems[0].path, "cfg.port");
  EXPECT_TRUE(contains(v.problems[0].message, "above the maximum 65535")) << v.problems[0].message;
}

TEST(SchemaValidator, EveryProblemIsReportedNotJustTheFirst) {
  const auto v = validate(
      "name: [x]\n"
      "mode: turbo\n"
      "port: 99999\n"
      "enabled: maybe\n"
      "bogus: 1\n"
      "tags: [ok, {no: 1}]\n");
  EXPECT_EQ(v.problems.size(), 6u) << describe(v.problems);
  for (const std::string path : {"cfg.name", "cfg.mode", "cfg.port", "cfg.enabled", "cfg.bogus", "cfg.tags[1]"}) {
    EXPECT_NE(findProblem(v.problems, path), nullptr) << path << "\n" << describe(v.problems);
  }
}

TEST(SchemaValidator, LineOfGivesOneBasedLinesAndZeroForAbsentNodes) {
  const auto root = YAML::Load("first: 1\nsecond:\n  third: 3\n");
  EXPECT_EQ(lineOf(root["first"]), 1);
  EXPECT_EQ(lineOf(root["second"]["third"]), 3);
  EXPECT_EQ(lineOf(root["missing"]), 0);
  EXPECT_EQ(lineOf(YAML::Node{}), 0);
}

}  // namespace
}  // namespace eventnode::core
