// The plugin host against real plugin libraries built as MODULEs (tests/fixtures/plugins).
#include "plugins/plugin_manager.hpp"
#include "config/node_config.hpp"
#include "errors.hpp"
#include "process.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace eventnode::tests {
namespace {

using core::ConfigProblem;

class PluginManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir("plugins");
    journal_ = dir_ / "journal.txt";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  /// Writes node.yaml with `plugins_yaml` as its plugins list and loads it.
  core::NodeConfig config(const std::string& plugins_yaml) {
    const auto file = dir_ / "node.yaml";
    writeFile(file, "node:\n  data_dir: data\n  plugin_dir: [" FIXTURE_PLUGIN_DIR "]\nplugins:\n" + plugins_yaml);
    std::vector<ConfigProblem> problems;
    auto loaded = core::loadNodeConfig(file, problems);
    EXPECT_TRUE(problems.empty()) << (problems.empty() ? "" : problems.front().format(file.string()));
    return loaded;
  }

  std::filesystem::path dir_;
  std::filesystem::path journal_;
  core::LogRegistry logs_;
};

/// The core services a plugin host needs, with a default node config.
struct CoreFixture {
  CoreFixture(core::LogRegistry& logs, const std::filesystem::path& dir)
      : gateway(config, bus, scheduler, logs),
        services{logs, bus, gateway, router, scheduler, metrics, "test", dir / "data"} {}
  core::NodeConfig config;
  core::EventBus bus;
  core::HttpRouter router;
  core::Scheduler scheduler;
  core::MetricRegistry metrics;
  core::Gateway gateway;
  core::CoreServices services;
};

std::string allMessages(const std::vector<ConfigProblem>& problems) {
  std::string text;
  for (const auto& p : problems) text += p.path + ": " + p.message + "\n";
  return text;
}

TEST_F(PluginManagerTest, RefusesANewerMajorApiNamingTheFileBothVersionsAndTheFix) {
  core::PluginManager manager(logs_.get("core.plugins"));
  std::vector<ConfigProblem> problems;
  manager.load(config("  - name: wrong_major\n"), problems);
  ASSERT_EQ(problems.size(), 1u);
  const auto& message = problems[0].message;
  EXPECT_EQ(problems[0].path, "plugins[0].library");
  EXPECT_NE(message.find("libwrong_major.so"), std::string::npos) << message;
  EXPECT_NE(message.find("plugin API 3.0"), std::string::npos) << message;
  const auto ours =
      "plugin API " + std::to_string(plugin::kApiVersionMajor) + "." + std::to_string(plugin::kApiVersionMinor);
  EXPECT_NE(message.find(ours), std::string::npos) << message;
  EXPECT_NE(message.find("rebuild"), std::string::npos) << message;
  EXPECT_TRUE(manager.status().empty());
}

TEST_F(PluginManagerTest, RefusesANewerMinorApi) {
  core::PluginManager manager(logs_.get("core.plugins"));
  std::vector<ConfigProblem> problems;
  manager.load(config("  - name: newer_minor\n"), problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message.find("plugin API 2.99"), std::string::npos) << problems[0].message;
}

TEST_F(PluginManagerTest, RefusesALibraryBuiltAgainstOtherVersionsOfTheBoundaryTypesNamingThem) {
  core::PluginManager manager(logs_.get("core.plugins"));
  std::vector<ConfigProblem> problems;
  manager.load(config("  - name: abi_mismatch\n"), problems);
  ASSERT_EQ(problems.size(), 1u);
  const auto& message = problems[0].message;
  EXPECT_EQ(problems[0].path, "plugins[0].library");
  EXPECT_NE(message.find("libabi_mismatch.so"), std::string::npos) << message;
  const auto ours = std::to_string(NLOHMANN_JSON_VERSION_MAJOR) + "." + std::to_string(NLOHMANN_JSON_VERSION_MINOR) +
                    "." + std::to_string(NLOHMANN_JSON_VERSION_PATCH);
  EXPECT_NE(message.find("nlohmann_json 0.0.1-" + ours + " (this node: " + ours + ")"), std::string::npos) << message;
  EXPECT_NE(message.find("spdlog 0.0.1-"), std::string::npos) << message;
  EXPECT_EQ(message.find("sizeof_json"), std::string::npos) << "only what differs is named: " << message;
  EXPECT_NE(message.find("rebuild it"), std::string::npos) << message;
  EXPECT_TRUE(manager.status().empty());
}

TEST_F(PluginManagerTest, RefusesALibraryWithoutTheFactorySymbol) {
  core::PluginManager manager(logs_.get("core.plugins"));
  std::vector<ConfigProblem> problems;
  manager.load(config("  - name: missing_factory\n"), problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message.find("does not export 'eventnode_plugin_create'"), std::string::npos)
      << problems[0].message;
  EXPECT_NE(problems[0].message.find("EVENTNODE_PLUGIN"), std::string::npos);
}

TEST_F(PluginManagerTest, AMissingLibraryListsEveryPlaceItLooked) {
  core::PluginManager manager(logs_.get("core.plugins"));
  std::vector<ConfigProblem> problems;
  manager.load(config("  - name: nowhere\n"), problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message.find("libnowhere.so not found"), std::string::npos) << problems[0].message;
  EXPECT_NE(problems[0].message.find(FIXTURE_PLUGIN_DIR), std::string::npos) << problems[0].message;
  EXPECT_NE(problems[0].message.find(dir_.string()), std::string::npos) << problems[0].message;
}

TEST_F(PluginManagerTest, ALibraryThatProvidesAnotherPluginIsRefused) {
  core::PluginManager manager(logs_.get("core.plugins"));
  std::vector<ConfigProblem> problems;
  manager.load(config("  - name: alpha\n    library: libbeta.so\n"), problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message.find("provides plugin 'beta', not 'alpha'"), std::string::npos) << problems[0].message;
}

TEST_F(PluginManagerTest, StartsInDependencyOrderAndStopsInReverse) {
  core::PluginManager manager(logs_.get("core.plugins"));
  std::vector<ConfigProblem> problems;
  const auto j = "    config: {journal: " + journal_.string() + "}\n";
  manager.load(config("  - name: alpha\n    requires: [gamma]\n" + j + "  - name: beta\n" + j +
                      "  - name: gamma\n    requires: [beta]\n" + j),
               problems);
  ASSERT_TRUE(problems.empty()) << allMessages(problems);
  CoreFixture core(logs_, dir_);
  auto& services = core.services;
  manager.startAll(services);
  manager.stopAll();
  EXPECT_EQ(readFile(journal_),
            "configure beta\nconfigure gamma\nconfigure alpha\nstart beta\nstart gamma\nstart alpha\n"
            "stop alpha\nstop gamma\nstop beta\n");
}

TEST_F(PluginManagerTest, ADependencyCycleIsReportedWithItsPath) {
  core::PluginManager manager(logs_.get("core.plugins"));
  std::vector<ConfigProblem> problems;
  manager.load(config("  - name: alpha\n    requires: [beta]\n  - name: beta\n    requires: [gamma]\n"
                      "  - name: gamma\n    requires: [alpha]\n"),
               problems);
  ASSERT_EQ(problems.size(), 1u) << allMessages(problems);
  EXPECT_NE(problems[0].message.find("alpha -> beta -> gamma -> alpha"), std::string::npos) << problems[0].message;
}

TEST_F(PluginManagerTest, RequiringADisabledPluginIsAnError) {
  core::PluginManager manager(logs_.get("core.plugins"));
  std::vector<ConfigProblem> problems;
  manager.load(config("  - name: alpha\n    requires: [beta]\n  - name: beta\n    enabled: false\n"), problems);
  ASSERT_EQ(problems.size(), 1u) << allMessages(problems);
  EXPECT_EQ(problems[0].path, "plugins[0].requires");
  EXPECT_NE(problems[0].message.find("requires 'beta', which is not an enabled plugin"), std::string::npos);
}

TEST_F(PluginManagerTest, AThrowingStartStopsThatPluginAndThoseAlreadyStartedAndNamesThePlugin) {
  core::PluginManager manager(logs_.get("core.plugins"));
  std::vector<ConfigProblem> problems;
  const auto j = "{journal: " + journal_.string();
  manager.load(config("  - name: alpha\n    config: " + j + "}\n  - name: beta\n    config: " + j +
                      ", fail_start: true}\n  - name: gamma\n    config: " + j + "}\n"),
               problems);
  ASSERT_TRUE(problems.empty()) << allMessages(problems);
  CoreFixture core(logs_, dir_);
  auto& services = core.services;
  try {
    manager.startAll(services);
    FAIL() << "startAll should throw";
  } catch (const core::PluginStartError& e) {
    EXPECT_NE(std::string(e.what()).find("plugin 'beta' failed to start: fixture told to fail in start"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(readFile(journal_),
            "configure alpha\nconfigure beta\nconfigure gamma\nstart alpha\nstart beta\nstop beta\nstop alpha\n");
  EXPECT_EQ(manager.status()[1].state, "failed");
  EXPECT_EQ(manager.status()[2].state, "configured");
}

TEST_F(PluginManagerTest, AConfigureRefusalIsAProblemAtTheKeyAndEveryPluginIsCheckedButNoneStarts) {
  core::PluginManager manager(logs_.get("core.plugins"));
  std::vector<ConfigProblem> problems;
  const auto j = "journal: " + journal_.string();
  manager.load(config("  - name: alpha\n"                                  // line 5
                      "    config:\n"                                      // line 6
                      "      " + j + "\n"                                  // line 7
                      "      greeting: hi\n"                               // line 8
                      "      fail_configure: true\n"                       // line 9
                      "  - name: beta\n    config: {" + j + "}\n"),        // lines 10-11
               problems);
  ASSERT_EQ(problems.size(), 1u) << allMessages(problems);
  EXPECT_EQ(problems[0].path, "plugins[0].config.greeting");
  EXPECT_EQ(problems[0].line, 8);
  EXPECT_EQ(problems[0].message, "greeting refused by fixture");
  EXPECT_EQ(readFile(journal_), "configure alpha\nconfigure beta\n") << "every plugin is checked, none started";
}

TEST_F(PluginManagerTest, AnyOtherConfigureExceptionIsReportedAtTheConfigLine) {
  core::PluginManager manager(logs_.get("core.plugins"));
  std::vector<ConfigProblem> problems;
  manager.load(config("  - name: alpha\n    config: {greeting: throw}\n"), problems);
  ASSERT_EQ(problems.size(), 1u) << allMessages(problems);
  EXPECT_EQ(problems[0].path, "plugins[0].config");
  EXPECT_EQ(problems[0].line, 6);
  EXPECT_EQ(problems[0].message, "plugin 'alpha' refused its config: greeting 'throw' is not a greeting");
}

TEST_F(PluginManagerTest, PluginConfigErrorsNameTheYamlPathTheLineAndTheAllowedKeys) {
  core::PluginManager manager(logs_.get("core.plugins"));
  std::vector<ConfigProblem> problems;
  manager.load(config("  - name: alpha\n"      // line 5
                      "    config:\n"          // line 6
                      "      greting: hi\n"    // line 7
                      "      port: seventy\n"  // line 8
                      "  - name: beta\n"       // line 9
                      "    config:\n"          // line 10
                      "      port: 70000\n"),  // line 11
               problems);
  ASSERT_EQ(problems.size(), 3u) << allMessages(problems);
  std::map<std::string, ConfigProblem> by_path;
  for (const auto& p : problems) by_path[p.path] = p;
  ASSERT_TRUE(by_path.count("plugins[0].config.greting")) << allMessages(problems);
  EXPECT_EQ(by_path["plugins[0].config.greting"].line, 7);
  EXPECT_NE(by_path["plugins[0].config.greting"].message.find(
                "allowed keys: journal, fail_start, fail_configure, greeting, port"),
            std::string::npos);
  ASSERT_TRUE(by_path.count("plugins[0].config.port"));
  EXPECT_EQ(by_path["plugins[0].config.port"].line, 8);
  EXPECT_NE(by_path["plugins[0].config.port"].message.find("expected an integer, got 'seventy'"), std::string::npos);
  ASSERT_TRUE(by_path.count("plugins[1].config.port"));
  EXPECT_EQ(by_path["plugins[1].config.port"].line, 11);
  EXPECT_NE(by_path["plugins[1].config.port"].message.find("above the maximum 65535"), std::string::npos);
}

TEST_F(PluginManagerTest, DefaultsReachThePluginAndItsRoutesAnswer) {
  core::PluginManager manager(logs_.get("core.plugins"));
  std::vector<ConfigProblem> problems;
  manager.load(config("  - name: alpha\n"), problems);
  ASSERT_TRUE(problems.empty()) << allMessages(problems);
  CoreFixture core(logs_, dir_);
  auto& services = core.services;
  manager.startAll(services);
  const auto lookup = core.router.find("GET", "/fixture/alpha");
  ASSERT_EQ(lookup.outcome, core::HttpRouter::Outcome::Found);
  EXPECT_EQ(lookup.route->owner, "alpha");
  const auto response = lookup.route->route.handler(plugin::HttpRequest{});
  EXPECT_EQ(plugin::Json::parse(response.body)["greeting"], "hello");
  ASSERT_EQ(manager.status().size(), 1u);
  EXPECT_EQ(manager.status()[0].state, "started");
  EXPECT_EQ(manager.status()[0].version, "1.2.3");
  manager.stopAll();
  EXPECT_EQ(manager.status()[0].state, "stopped");
}

TEST_F(PluginManagerTest, TwoPluginsThatPublishToEachOtherFromTheirHandlersRunTenSecondsWithoutDeadlock) {
  // Before the executors, each handler ran on the publisher's thread under the
  // subscription's lock: ping's handler publishing to pong while pong's handler
  // published to ping took the two locks in opposite orders.
  CoreFixture core(logs_, dir_);
  core.gateway.start();
  core::PluginHost ping("ping", core.services);
  core::PluginHost pong("pong", core.services);
  std::atomic<std::uint64_t> ping_handled{0};
  std::atomic<std::uint64_t> pong_handled{0};
  std::atomic<std::thread::id> ping_thread{};
  ping.subscribe("to-ping", [&](const std::string&, const plugin::Json& data) {
    ping_thread = std::this_thread::get_id();
    ++ping_handled;
    ping.publish("to-pong", data);
  });
  pong.subscribe("to-pong", [&](const std::string&, const plugin::Json& data) {
    ++pong_handled;
    pong.publish("to-ping", data);
  });
  // 200 events in flight between the two, and an outside publisher adding load to both for 10 s.
  for (int i = 0; i < 200; ++i) core.gateway.publish(i % 2 ? "to-ping" : "to-pong", i);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::uint64_t outside = 0;
  auto load = std::async(std::launch::async, [&] {
    while (std::chrono::steady_clock::now() < until) {
      core.gateway.publish(outside % 2 ? "to-ping" : "to-pong", -1);
      if (++outside % 64 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  ASSERT_EQ(load.wait_for(std::chrono::seconds(30)), std::future_status::ready) << "the outside publisher was held";
  const auto ping_mid = ping_handled.load();
  const auto pong_mid = pong_handled.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_GT(ping_handled.load(), ping_mid) << "the ping-pong has stopped: a deadlock";
  EXPECT_GT(pong_handled.load(), pong_mid) << "the ping-pong has stopped: a deadlock";
  EXPECT_NE(ping_thread.load(), std::this_thread::get_id());
  auto stopping = std::async(std::launch::async, [&] {
    ping.stopBusDelivery();
    pong.stopBusDelivery();
    ping.releaseAll();
    pong.releaseAll();
  });
  ASSERT_EQ(stopping.wait_for(std::chrono::seconds(10)), std::future_status::ready) << "stopping deadlocked";
  core.gateway.stop();
}

}  // namespace
}  // namespace eventnode::tests
