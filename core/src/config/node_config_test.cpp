#include "config/node_config.hpp"

#include "temp_dir.hpp"

#include <Poco/Environment.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace eventnode::core {
namespace {

namespace fs = std::filesystem;

class TempDir : public test_support::TempDir {
 public:
  TempDir() : test_support::TempDir("config") {}
};

/// Sets an environment variable for the test's lifetime.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::string& value) : name_(std::move(name)) {
    ::setenv(name_.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() { ::unsetenv(name_.c_str()); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
};

const std::string kGoodSecret = "0123456789abcdef0123456789abcdef";

class NodeConfigTest : public ::testing::Test {
 protected:
  fs::path write(const std::string& yaml, const std::string& relative = "node.yaml") {
    const auto file = dir_.path() / relative;
    fs::create_directories(file.parent_path());
    std::ofstream(file) << yaml;
    return file;
  }

  NodeConfig load(const std::string& yaml) {
    problems_.clear();
    return loadNodeConfig(write(yaml), problems_);
  }

  const ConfigProblem* problem(const std::string& path) const {
    for (const auto& p : problems_) {
      if (p.path == path) return &p;
    }
    return nullptr;
  }

  std::string described() const {
    std::string text;
    for (const auto& p : problems_) text += p.format("node.yaml") + "\n";
    return text;
  }

  static bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  }

  TempDir dir_;
  std::vector<ConfigProblem> problems_;
};

TEST_F(NodeConfigTest, MinimalConfigGetsEveryDefault) {
  const auto config = load("{}\n");
  ASSERT_TRUE(problems_.empty()) << described();
  EXPECT_EQ(config.base_dir, dir_.path());
  EXPECT_EQ(config.node.id, Poco::Environment::nodeName());
  EXPECT_EQ(config.node.role, "all-in-one");
  EXPECT_EQ(config.node.data_dir, dir_.path() / "data");
  EXPECT_TRUE(config.node.plugin_dirs.empty());
  EXPECT_EQ(config.server.listen, "0.0.0.0");
  EXPECT_EQ(config.server.port, 8080);
  EXPECT_EQ(config.server.http_threads, 8);
  EXPECT_EQ(config.server.max_http_body_bytes, 16u * 1024 * 1024);
  EXPECT_FALSE(config.server.tls.enabled);
  EXPECT_TRUE(config.server.tls.cert.empty());
  EXPECT_TRUE(config.server.tls.key.empty());
  EXPECT_FALSE(config.auth.required);
  EXPECT_EQ(config.auth.algorithm, "HS256");
  EXPECT_TRUE(config.auth.secret.empty());
  EXPECT_TRUE(config.auth.api_keys.empty());
  EXPECT_EQ(config.broker.type, "memory");
  EXPECT_EQ(config.logging.level, "info");
  EXPECT_EQ(config.logging.format, "text");
  EXPECT_TRUE(config.logging.file.empty());
  EXPECT_TRUE(config.logging.levels.empty());
  EXPECT_TRUE(config.plugins.empty());
}

TEST_F(NodeConfigTest, ExplicitValuesAreRead) {
  const auto config = load(
      "node:\n"
      "  id: edge-7\n"
      "  role: gateway\n"
      "server:\n"
      "  listen: 127.0.0.1\n"
      "  port: 0\n"
      "  http_threads: 2\n"
      "  max_http_body_bytes: 4096\n"
      "auth:\n"
      "  required: true\n"
      "  secret: " +
      kGoodSecret +
      "\n"
      "  issuer: me\n"
      "  audience: you\n"
      "  api_keys: [k1, k2]\n"
      "logging:\n"
      "  level: debug\n"
      "  format: json\n"
      "  levels:\n"
      "    plugin.meter: trace\n");
  ASSERT_TRUE(problems_.empty()) << described();
  EXPECT_EQ(config.node.id, "edge-7");
  EXPECT_EQ(config.node.role, "gateway");
  EXPECT_EQ(config.server.listen, "127.0.0.1");
  EXPECT_EQ(config.server.port, 0);
  EXPECT_EQ(config.server.http_threads, 2);
  EXPECT_EQ(config.server.max_http_body_bytes, 4096u);
  EXPECT_TRUE(config.auth.required);
  EXPECT_EQ(config.auth.secret, kGoodSecret);
  EXPECT_EQ(config.auth.issuer, "me");
  EXPECT_EQ(config.auth.audience, "you");
  EXPECT_EQ(config.auth.api_keys, (std::vector<std::string>{"k1", "k2"}));
  EXPECT_EQ(config.logging.level, "debug");
  EXPECT_EQ(config.logging.format, "json");
  EXPECT_EQ(config.logging.levels.at("plugin.meter"), "trace");
}

TEST_F(NodeConfigTest, RelativePathsResolveAgainstTheConfigFilesFolder) {
  write(kGoodSecret + "\n", "etc/secrets/jwt.txt");
  const auto file = write(
      "node:\n"
      "  data_dir: ../state\n"
      "  plugin_dir: [plugins, /opt/eventnode/plugins, ./more/../extra]\n"
      "server:\n"
      "  tls:\n"
      "    cert: tls/cert.pem\n"
      "    key: /abs/key.pem\n"
      "auth:\n"
      "  secret_file: secrets/jwt.txt\n"
      "logging:\n"
      "  file: logs/node.log\n",
      "etc/node.yaml");
  // Load through a path relative to the working directory: the result must not depend on it.
  const auto relative = fs::relative(file, fs::current_path());
  ASSERT_TRUE(relative.is_relative());
  const auto config = loadNodeConfig(relative, problems_);
  ASSERT_TRUE(problems_.empty()) << described();
  const auto etc = dir_.path() / "etc";
  EXPECT_EQ(config.base_dir, etc);
  EXPECT_EQ(config.node.data_dir, dir_.path() / "state");
  EXPECT_EQ(config.node.plugin_dirs, (std::vector<fs::path>{etc / "plugins", "/opt/eventnode/plugins", etc / "extra"}));
  EXPECT_EQ(config.server.tls.cert, etc / "tls" / "cert.pem");
  EXPECT_EQ(config.server.tls.key, fs::path("/abs/key.pem"));
  EXPECT_EQ(config.logging.file, etc / "logs" / "node.log");
  EXPECT_EQ(config.auth.secret, kGoodSecret);  // trailing newline trimmed
}

TEST_F(NodeConfigTest, UnknownKeyReportsPathLineAndAllowedKeys) {
  load(
      "server:\n"
      "  port: 9000\n"
      "  prot: 80\n");
  ASSERT_EQ(problems_.size(), 1u) << described();
  EXPECT_EQ(problems_[0].path, "server.prot");
  EXPECT_EQ(problems_[0].line, 3);
  EXPECT_TRUE(contains(problems_[0].message, "unknown key")) << problems_[0].message;
  EXPECT_TRUE(contains(problems_[0].message,
                       "listen, port, http_threads, max_http_body_bytes, io_threads, heartbeat_interval, limits, tls"))
      << problems_[0].message;
}

TEST_F(NodeConfigTest, UnknownTopLevelSectionListsEveryAllowedSectionIncludingPlugins) {
  load(
      "server:\n"
      "  port: 9000\n"
      "plugin:\n"
      "  - name: meter\n");
  ASSERT_EQ(problems_.size(), 1u) << described();
  EXPECT_EQ(problems_[0].path, "plugin");
  EXPECT_EQ(problems_[0].line, 3);
  for (const std::string section : {"node", "server", "auth", "broker", "logging", "plugins"}) {
    EXPECT_TRUE(contains(problems_[0].message, section)) << section << " missing from: " << problems_[0].message;
  }
}

TEST_F(NodeConfigTest, WrongTypesReportPathAndLine) {
  struct Case {
    std::string yaml;
    std::string path;
    int line;
    std::string message_part;
  };
  const std::vector<Case> cases{
      {"server:\n  port: \"abc\"\n", "server.port", 2, "expected an integer"},
      {"server:\n  tls:\n    enabled: maybe\n", "server.tls.enabled", 3, "expected a boolean"},
      {"server:\n  http_threads: 1.5\n", "server.http_threads", 2, "expected an integer"},
      {"node:\n  plugin_dir: plugins\n", "node.plugin_dir", 2, "expected a list"},
      {"node: [a, b]\n", "node", 1, "expected a mapping"},
      {"auth:\n  required: sometimes\n", "auth.required", 2, "expected a boolean"},
      {"auth:\n  algorithm: HS512\n", "auth.algorithm", 2, "not one of: HS256, RS256"},
      {"logging:\n  level: loud\n", "logging.level", 2, "not one of"},
      {"logging:\n  levels:\n    core.server: chatty\n", "logging.levels.core.server", 3, "not one of"},
      {"broker:\n  type: kafka\n", "broker.type", 2, "not one of: memory, redis"},
      {"broker:\n  type: redis\n", "broker.redis", 2, "needs redis.url"},
      {"broker:\n  type: redis\n  redis:\n    url: redis://a:1\n    shards: [redis://b:2]\n", "broker.redis", 4,
       "not both"},
      {"broker:\n  type: redis\n  redis:\n    url: http://cache:6379\n", "broker.redis.url", 4,
       "not a redis:// URL"},
      {"broker:\n  type: redis\n  redis:\n    shards: [redis://a:1, redis://a:1]\n", "broker.redis.shards[1]", 4,
       "listed twice"},
      {"broker:\n  type: redis\n  redis:\n    url: redis://a:1\n    timeout_ms: 10\n", "broker.redis.timeout_ms", 5,
       "below the minimum 50"},
      {"broker:\n  local_bus_topics: [\"a b\"]\n", "broker.local_bus_topics", 2, "not a topic pattern"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.yaml);
    load(c.yaml);
    const auto* p = problem(c.path);
    ASSERT_NE(p, nullptr) << described();
    EXPECT_EQ(p->line, c.line);
    EXPECT_TRUE(contains(p->message, c.message_part)) << p->message;
  }
}

TEST_F(NodeConfigTest, ARedisBrokerIsReadWithItsShardsAndSettings) {
  const auto config = load(
      "broker:\n  type: redis\n  redis:\n    shards: [\"redis://a:7001\", \"redis://:pw@b:7002/1\"]\n"
      "    password: shared\n    prefix: prod\n    timeout_ms: 500\n    heartbeat_ttl_seconds: 30\n"
      "  local_bus_topics: [\"pow:internal:*\"]\n");
  EXPECT_TRUE(problems_.empty()) << described();
  EXPECT_EQ(config.broker.type, "redis");
  EXPECT_EQ(config.broker.redis_urls, (std::vector<std::string>{"redis://a:7001", "redis://:pw@b:7002/1"}));
  EXPECT_EQ(config.broker.redis_password, "shared");
  EXPECT_EQ(config.broker.prefix, "prod");
  EXPECT_EQ(config.broker.timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(config.broker.heartbeat_ttl, std::chrono::seconds(30));
  EXPECT_EQ(config.broker.local_bus_topics, std::vector<std::string>{"pow:internal:*"});
  const auto single = load("broker:\n  type: redis\n  redis:\n    url: redis://127.0.0.1:6379\n");
  EXPECT_TRUE(problems_.empty()) << described();
  EXPECT_EQ(single.broker.redis_urls, std::vector<std::string>{"redis://127.0.0.1:6379"});
  EXPECT_EQ(single.broker.prefix, "eventnode");
}

TEST_F(NodeConfigTest, WrongTypedValuesFallBackToDefaultsInTheResult) {
  const auto config = load("server:\n  port: \"abc\"\n  tls:\n    enabled: maybe\n");
  EXPECT_EQ(problems_.size(), 2u) << described();
  EXPECT_EQ(config.server.port, 8080);
  EXPECT_FALSE(config.server.tls.enabled);
}

TEST_F(NodeConfigTest, HexadecimalPortIsReadWithoutThrowing) {
  NodeConfig config;
  ASSERT_NO_THROW(config = load("server:\n  port: 0x1F90\n"));
  EXPECT_TRUE(problems_.empty()) << described();
  EXPECT_EQ(config.server.port, 8080);
}

TEST_F(NodeConfigTest, PortAboveTheMaximumIsReported) {
  load("server:\n  port: 70000\n");
  ASSERT_EQ(problems_.size(), 1u) << described();
  EXPECT_EQ(problems_[0].path, "server.port");
  EXPECT_EQ(problems_[0].line, 2);
  EXPECT_TRUE(contains(problems_[0].message, "70000 is above the maximum 65535")) << problems_[0].message;
}

TEST_F(NodeConfigTest, NegativePortIsReported) {
  load("server:\n  port: -1\n");
  ASSERT_NE(problem("server.port"), nullptr) << described();
  EXPECT_TRUE(contains(problem("server.port")->message, "below the minimum 0"));
}

TEST_F(NodeConfigTest, TlsEnabledNeedsCertAndKey) {
  load("server:\n  tls:\n    enabled: true\n    cert: cert.pem\n");
  const auto* p = problem("server.tls");
  ASSERT_NE(p, nullptr) << described();
  EXPECT_EQ(p->line, 3);
  EXPECT_TRUE(contains(p->message, "cert and key")) << p->message;
}

TEST_F(NodeConfigTest, TlsFilesThatDoNotExistAreReported) {
  write("pem", "cert.pem");
  load("server:\n  tls:\n    enabled: true\n    cert: cert.pem\n    key: missing-key.pem\n");
  ASSERT_EQ(problems_.size(), 1u) << described();
  EXPECT_EQ(problems_[0].path, "server.tls.key");
  EXPECT_EQ(problems_[0].line, 5);
  EXPECT_TRUE(contains(problems_[0].message, "missing-key.pem")) << problems_[0].message;
}

TEST_F(NodeConfigTest, PluginsAreReadInOrderWithTheirFields) {
  const auto config = load(
      "plugins:\n"
      "  - name: meter\n"
      "  - name: pow_batches\n"
      "    library: /opt/libpow.so\n"
      "    enabled: false\n"
      "    requires: [meter]\n"
      "    config:\n"
      "      batch_size: 10\n");
  ASSERT_TRUE(problems_.empty()) << described();
  ASSERT_EQ(config.plugins.size(), 2u);
  const auto& meter = config.plugins[0];
  EXPECT_EQ(meter.name, "meter");
  EXPECT_EQ(meter.index, 0u);
  EXPECT_EQ(meter.line, 2);
  EXPECT_EQ(meter.path(), "plugins[0]");
  EXPECT_TRUE(meter.library.empty());
  EXPECT_TRUE(meter.enabled);
  EXPECT_TRUE(meter.requires_plugins.empty());
  EXPECT_FALSE(meter.config.IsDefined() && !meter.config.IsNull());

  const auto& pow = config.plugins[1];
  EXPECT_EQ(pow.name, "pow_batches");
  EXPECT_EQ(pow.index, 1u);
  EXPECT_EQ(pow.line, 3);
  EXPECT_EQ(pow.library, "/opt/libpow.so");
  EXPECT_FALSE(pow.enabled);
  EXPECT_EQ(pow.requires_plugins, (std::vector<std::string>{"meter"}));
  ASSERT_TRUE(pow.config.IsMap());
  EXPECT_EQ(pow.config["batch_size"].as<int>(), 10);
}

TEST_F(NodeConfigTest, PluginProblemsAreReportedWithTheirPaths) {
  struct Case {
    std::string yaml;
    std::string path;
    int line;
    std::string message_part;
  };
  const std::vector<Case> cases{
      {"plugins:\n  - library: libx.so\n", "plugins[0].name", 2, "missing required key"},
      {"plugins:\n  - name: a\n  - name: b\n  - name: a\n", "plugins[2].name", 4, "'a' is listed twice"},
      {"plugins:\n  - name: a\n    enabled: perhaps\n", "plugins[0].enabled", 3, "expected a boolean"},
      {"plugins:\n  - name: a\n    enabled: [true]\n", "plugins[0].enabled", 3, "expected a boolean"},
      {"plugins:\n  - name: a\n    librar: x.so\n", "plugins[0].librar", 3,
       "unknown key; allowed keys: name, library, enabled, requires, config"},
      {"plugins:\n  - name: a\n    config: [1, 2]\n", "plugins[0].config", 3, "expected a mapping"},
      {"plugins:\n  - name: a\n    config: text\n", "plugins[0].config", 3, "expected a mapping"},
      {"plugins:\n  - name: a\n    requires: b\n", "plugins[0].requires", 3, "expected a list"},
      {"plugins:\n  - name: a\n    requires: [[b]]\n", "plugins[0].requires", 3, "expected a plugin name"},
      {"plugins:\n  - name: [a]\n", "plugins[0].name", 2, "expected a string"},
      {"plugins:\n  - just-a-name\n", "plugins[0]", 2, "expected a mapping"},
      {"plugins:\n  name: a\n", "plugins", 2, "expected a list"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.yaml);
    load(c.yaml);
    const auto* p = problem(c.path);
    ASSERT_NE(p, nullptr) << described();
    EXPECT_EQ(p->line, c.line);
    EXPECT_TRUE(contains(p->message, c.message_part)) << p->message;
  }
}

TEST_F(NodeConfigTest, SecretIsReadFromTheNamedEnvironmentVariable) {
  const ScopedEnv env("EVENTNODE_TEST_JWT_SECRET_SET", kGoodSecret);
  const auto config = load("auth:\n  secret_env: EVENTNODE_TEST_JWT_SECRET_SET\n");
  ASSERT_TRUE(problems_.empty()) << described();
  EXPECT_EQ(config.auth.secret, kGoodSecret);
}

TEST_F(NodeConfigTest, SecretEnvThatIsNotSetIsReported) {
  ::unsetenv("EVENTNODE_TEST_JWT_SECRET_UNSET");
  const auto config = load("auth:\n  required: true\n  secret_env: EVENTNODE_TEST_JWT_SECRET_UNSET\n");
  const auto* p = problem("auth.secret_env");
  ASSERT_NE(p, nullptr) << described();
  EXPECT_EQ(p->line, 3);
  EXPECT_TRUE(contains(p->message, "EVENTNODE_TEST_JWT_SECRET_UNSET")) << p->message;
  EXPECT_TRUE(config.auth.secret.empty());
}

TEST_F(NodeConfigTest, SecretEnvThatIsEmptyIsReported) {
  const ScopedEnv env("EVENTNODE_TEST_JWT_SECRET_EMPTY", "");
  load("auth:\n  secret_env: EVENTNODE_TEST_JWT_SECRET_EMPTY\n");
  ASSERT_NE(problem("auth.secret_env"), nullptr) << described();
}

TEST_F(NodeConfigTest, TwoSecretSourcesAreReported) {
  const ScopedEnv env("EVENTNODE_TEST_JWT_SECRET_TWO", kGoodSecret);
  load("auth:\n  secret: " + kGoodSecret + "\n  secret_env: EVENTNODE_TEST_JWT_SECRET_TWO\n");
  const auto* p = problem("auth");
  ASSERT_NE(p, nullptr) << described();
  EXPECT_EQ(p->line, 2);
  EXPECT_TRUE(contains(p->message, "only one of secret, secret_env and secret_file")) << p->message;
}

TEST_F(NodeConfigTest, ShortHs256SecretIsReportedWithoutShowingIt) {
  load("auth:\n  secret: short-secret-xyz\n");
  ASSERT_EQ(problems_.size(), 1u) << described();
  EXPECT_EQ(problems_[0].path, "auth");
  EXPECT_TRUE(contains(problems_[0].message, "shorter than 32 bytes")) << problems_[0].message;
  EXPECT_FALSE(contains(problems_[0].message, "short-secret-xyz")) << problems_[0].message;
}

TEST_F(NodeConfigTest, RequiredHs256AuthWithoutSecretIsReported) {
  load("auth:\n  required: true\n");
  const auto* p = problem("auth");
  ASSERT_NE(p, nullptr) << described();
  EXPECT_TRUE(contains(p->message, "needs a secret")) << p->message;
}

TEST_F(NodeConfigTest, SecretFileThatCannotBeReadIsReported) {
  load("auth:\n  secret_file: nowhere/secret.txt\n");
  const auto* p = problem("auth.secret_file");
  ASSERT_NE(p, nullptr) << described();
  EXPECT_EQ(p->line, 2);
  EXPECT_TRUE(contains(p->message, (dir_.path() / "nowhere" / "secret.txt").string())) << p->message;
}

TEST_F(NodeConfigTest, Rs256WithoutPublicKeyIsReported) {
  load("auth:\n  algorithm: RS256\n");
  ASSERT_EQ(problems_.size(), 1u) << described();
  EXPECT_EQ(problems_[0].path, "auth.public_key_file");
  EXPECT_TRUE(contains(problems_[0].message, "RS256 needs public_key_file")) << problems_[0].message;
}

TEST_F(NodeConfigTest, Rs256KeyPathsResolveAgainstTheConfigFolder) {
  const auto config =
      load("auth:\n  algorithm: RS256\n  public_key_file: keys/pub.pem\n  private_key_file: keys/priv.pem\n");
  ASSERT_TRUE(problems_.empty()) << described();
  EXPECT_EQ(config.auth.algorithm, "RS256");
  EXPECT_EQ(config.auth.public_key_file, dir_.path() / "keys" / "pub.pem");
  EXPECT_EQ(config.auth.private_key_file, dir_.path() / "keys" / "priv.pem");
}

TEST_F(NodeConfigTest, InvalidYamlSyntaxIsReportedWithALine) {
  load(
      "server:\n"
      "  port: 8080\n"
      "  listen: [unclosed\n"
      "auth:\n"
      "  required: true\n");
  ASSERT_EQ(problems_.size(), 1u) << described();
  EXPECT_TRUE(contains(problems_[0].message, "not valid YAML")) << problems_[0].message;
  EXPECT_GE(problems_[0].line, 3) << described();
}

TEST_F(NodeConfigTest, BadIndentationIsReportedAtItsLine) {
  load(
      "server:\n"
      "  port: 8080\n"
      " listen: 0.0.0.0\n");
  ASSERT_EQ(problems_.size(), 1u) << described();
  EXPECT_TRUE(contains(problems_[0].message, "not valid YAML")) << problems_[0].message;
  EXPECT_EQ(problems_[0].line, 3) << described();
}

TEST_F(NodeConfigTest, DocumentThatIsNotAMappingIsReported) {
  load("- just\n- a list\n");
  ASSERT_EQ(problems_.size(), 1u) << described();
  EXPECT_TRUE(contains(problems_[0].message, "expected a mapping")) << problems_[0].message;
}

TEST_F(NodeConfigTest, MissingFileIsReportedAndThrownAsConfigError) {
  const auto missing = dir_.path() / "absent.yaml";
  std::vector<ConfigProblem> problems;
  loadNodeConfig(missing, problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].line, 0);
  EXPECT_TRUE(contains(problems[0].message, "not found")) << problems[0].message;

  try {
    loadNodeConfigOrThrow(missing);
    FAIL() << "a missing config file should throw";
  } catch (const ConfigError& e) {
    EXPECT_TRUE(contains(e.what(), missing.string())) << e.what();
    EXPECT_EQ(e.problems().size(), 1u);
  }
}

TEST_F(NodeConfigTest, SeveralProblemsAreAllReportedAtOnce) {
  const auto file = write(
      "node:\n"
      "  colour: blue\n"
      "server:\n"
      "  port: 70000\n"
      "  tls:\n"
      "    enabled: maybe\n"
      "auth:\n"
      "  secret: too-short\n"
      "plugins:\n"
      "  - library: x.so\n"
      "  - name: b\n"
      "    enabled: perhaps\n");
  std::vector<ConfigProblem> problems;
  loadNodeConfig(file, problems);
  problems_ = problems;
  for (const std::string path :
       {"node.colour", "server.port", "server.tls.enabled", "auth", "plugins[0].name", "plugins[1].enabled"}) {
    EXPECT_NE(problem(path), nullptr) << path << " not reported in:\n" << described();
  }
  EXPECT_EQ(problems.size(), 6u) << described();

  try {
    loadNodeConfigOrThrow(file);
    FAIL() << "an invalid config should throw";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.problems().size(), problems.size());
    const std::string what = e.what();
    EXPECT_TRUE(contains(what, file.string() + ":4: server.port: ")) << what;
    EXPECT_TRUE(contains(what, file.string() + ":2: node.colour: ")) << what;
    EXPECT_EQ(static_cast<std::size_t>(std::count(what.begin(), what.end(), '\n')), problems.size() - 1) << what;
  }
}

TEST_F(NodeConfigTest, ValidConfigDoesNotThrow) {
  const auto file = write("server:\n  port: 9000\nplugins:\n  - name: meter\n");
  const auto config = loadNodeConfigOrThrow(file);
  EXPECT_EQ(config.server.port, 9000);
  ASSERT_EQ(config.plugins.size(), 1u);
  EXPECT_EQ(config.file, file);
}

}  // namespace
}  // namespace eventnode::core
