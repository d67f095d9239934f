// ${VAR} and ${VAR:-default} in node.yaml (env_expansion.hpp).
#include "config/env_expansion.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace eventnode::core {
namespace {

/// A fixed environment, so the tests do not depend on the machine's.
EnvironmentLookup environment(std::map<std::string, std::string> values) {
  auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(values));
  return [shared](const std::string& name) -> const char* {
    const auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
}

struct Result {
  YAML::Node root;
  std::vector<ExpandedValue> expanded;
  std::vector<ConfigProblem> problems;
};

Result expand(const std::string& yaml, std::map<std::string, std::string> env) {
  Result result{YAML::Load(yaml), {}, {}};
  expandEnvironment(result.root, result.expanded, result.problems, environment(std::move(env)));
  return result;
}

TEST(Unit, VariablesAndDefaultsAreExpandedInEveryScalarKeepingTheirLines) {
  const auto r = expand(
      "node:\n"                                                  // 1
      "  id: ${SERVER_ID}\n"                                     // 2
      "broker:\n"                                                // 3
      "  url: redis://${REDIS_HOST:-127.0.0.1}:${REDIS_PORT:-6379}\n"  // 4
      "plugins:\n"                                               // 5
      "  - name: pow_batches\n"                                  // 6
      "    config: {nodes: [{url: \"http://${ML_HOST}:8090\"}]}\n",  // 7
      {{"SERVER_ID", "gw-2"}, {"REDIS_PORT", "6380"}, {"ML_HOST", "10.0.0.7"}});
  ASSERT_TRUE(r.problems.empty()) << r.problems[0].message;
  EXPECT_EQ(r.root["node"]["id"].as<std::string>(), "gw-2");
  EXPECT_EQ(r.root["broker"]["url"].as<std::string>(), "redis://127.0.0.1:6380");
  EXPECT_EQ(r.root["plugins"][0]["config"]["nodes"][0]["url"].as<std::string>(), "http://10.0.0.7:8090");
  ASSERT_EQ(r.expanded.size(), 3u);
  EXPECT_EQ(r.expanded[0].path, "node.id");
  EXPECT_EQ(r.expanded[0].line, 2);
  EXPECT_EQ(r.expanded[0].sources, (std::vector<std::string>{"$SERVER_ID"}));
  EXPECT_EQ(r.expanded[1].path, "broker.url");
  EXPECT_EQ(r.expanded[1].written, "redis://${REDIS_HOST:-127.0.0.1}:${REDIS_PORT:-6379}");
  EXPECT_EQ(r.expanded[1].sources, (std::vector<std::string>{"the default of $REDIS_HOST (unset)", "$REDIS_PORT"}));
  EXPECT_EQ(r.expanded[2].path, "plugins[0].config.nodes[0].url");
  EXPECT_EQ(r.expanded[2].line, 7);
}

TEST(Unit, AnEmptyVariableIsAValueButTakesTheDefaultWithColonDash) {
  const auto r = expand("a: '[${EMPTY}]'\nb: ${EMPTY:-fallback}\n", {{"EMPTY", ""}});
  ASSERT_TRUE(r.problems.empty());
  EXPECT_EQ(r.root["a"].as<std::string>(), "[]");
  EXPECT_EQ(r.root["b"].as<std::string>(), "fallback");
  EXPECT_EQ(r.expanded[1].sources[0], "the default of $EMPTY (empty)");
}

TEST(Unit, ADollarThatIsNotAReferenceAndAnEscapedOneStayAsWritten) {
  const auto r = expand("price: 5$\npattern: \"$${NOT_A_VAR}\"\ncost: $HOME\n", {});
  ASSERT_TRUE(r.problems.empty()) << r.problems[0].message;
  EXPECT_EQ(r.root["price"].as<std::string>(), "5$");
  EXPECT_EQ(r.root["pattern"].as<std::string>(), "${NOT_A_VAR}");
  EXPECT_EQ(r.root["cost"].as<std::string>(), "$HOME");
}

TEST(Unit, AnUnsetVariableWithoutADefaultABadNameAndAnUnclosedReferenceAreProblemsAtTheirLines) {
  const auto r = expand(
      "node:\n"
      "  id: ${SERVER_ID}\n"           // 2
      "  role: ${1BAD}\n"              // 3
      "  data_dir: /var/${OPEN\n",     // 4
      {});
  ASSERT_EQ(r.problems.size(), 3u);
  std::map<std::string, ConfigProblem> by_path;
  for (const auto& p : r.problems) by_path[p.path] = p;
  EXPECT_EQ(by_path["node.id"].line, 2);
  EXPECT_EQ(by_path["node.id"].message,
            "environment variable SERVER_ID is not set, and ${SERVER_ID} has no default; set it, or write "
            "${SERVER_ID:-default}");
  EXPECT_EQ(by_path["node.role"].line, 3);
  EXPECT_NE(by_path["node.role"].message.find("does not name an environment variable"), std::string::npos);
  EXPECT_EQ(by_path["node.data_dir"].line, 4);
  EXPECT_NE(by_path["node.data_dir"].message.find("is not closed"), std::string::npos);
}

TEST(Unit, AVariablesValueIsNeverParsedAsYaml) {
  const auto r = expand("node:\n  id: ${INJECT}\n", {{"INJECT", "x\nrole: admin\n{a: [1"}});
  ASSERT_TRUE(r.problems.empty());
  EXPECT_EQ(r.root["node"]["id"].as<std::string>(), "x\nrole: admin\n{a: [1");
  EXPECT_FALSE(r.root["node"]["role"]);
}

TEST(Unit, SecretKeysAreRecognisedSoTheirValuesAreNotPrinted) {
  for (const char* path : {"auth.secret", "auth.api_keys[0]", "broker.redis.password", "p2p.private_key_file"}) {
    EXPECT_TRUE(isSecretKey(path)) << path;
  }
  for (const char* path : {"node.id", "broker.redis.url", "plugins[0].config.rpc_url"}) {
    EXPECT_FALSE(isSecretKey(path)) << path;
  }
}

}  // namespace
}  // namespace eventnode::core
