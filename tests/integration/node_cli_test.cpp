// The eventnode executable as an operator uses it: real processes, real
// sockets on loopback, stopped by PID.
#include "auth/jwt_authenticator.hpp"
#include "config/node_config.hpp"
#include "process.hpp"

#include <eventnode/plugin/api_version.hpp>
#include <eventnode/plugin/json.hpp>

#include <gtest/gtest.h>

#include <Poco/Net/StreamSocket.h>

#include <signal.h>

#include <sstream>

namespace eventnode::tests {
namespace {

constexpr const char* kSecret = "test-secret-that-is-long-enough-0123456789";

class NodeCliTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = makeTempDir("cli"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path writeConfig(const std::string& body, const std::string& name = "node.yaml") {
    const auto file = dir_ / name;
    writeFile(file, body);
    return file;
  }

  /// A node.yaml on a free port with the given extra sections and plugins.
  std::filesystem::path nodeConfig(int port, const std::string& plugins, const std::string& extra = {}) {
    return writeConfig("node:\n  id: cli-test\n  data_dir: data\n  plugin_dir: [" EVENTNODE_PLUGIN_DIR
                       ", " FIXTURE_PLUGIN_DIR "]\nserver:\n  listen: 127.0.0.1\n  port: " +
                       std::to_string(port) + "\n" + extra + "plugins:\n" + plugins);
  }

  std::filesystem::path dir_;
};

TEST_F(NodeCliTest, CheckConfigListsEveryProblemWithItsPathAndLineAndExitsOne) {
  const auto file = writeConfig(
      "node:\n"                // 1
      "  id: broken\n"         // 2
      "  colour: blue\n"       // 3
      "server:\n"              // 4
      "  port: eighty\n"       // 5
      "logging:\n"             // 6
      "  format: xml\n"        // 7
      "plugins:\n"             // 8
      "  - name: utxo\n"       // 9
      "    enabeld: true\n");  // 10
  const auto result = runCommand({EVENTNODE_BINARY, "--config", file.string(), "--check-config"});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  const auto prefix = file.string() + ":";
  EXPECT_NE(result.output.find(prefix + "3: node.colour: unknown key; allowed keys: id, role, data_dir, plugin_dir"),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find(prefix + "5: server.port: expected an integer, got 'eighty'"), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find(prefix + "7: logging.format: 'xml' is not one of: text, json"), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find(prefix + "10: plugins[0].enabeld: unknown key"), std::string::npos) << result.output;
  // No plugin_dir is configured, so the library is not found either: a fifth problem.
  EXPECT_NE(result.output.find(prefix + "9: plugins[0].library: plugin 'utxo': library libutxo.so not found"),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("5 problems"), std::string::npos) << result.output;
}

TEST_F(NodeCliTest, CheckConfigValidatesPluginConfigsAgainstTheirSchemas) {
  const auto file = nodeConfig(8080, "  - name: alpha\n    config:\n      port: 0\n");
  const auto result = runCommand({EVENTNODE_BINARY, "--config", file.string(), "--check-config"});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find(":11: plugins[0].config.port: 0 is below the minimum 1"), std::string::npos)
      << result.output;
}

TEST_F(NodeCliTest, APluginsOwnCheckIsReportedWithFileLineAndPathAndNothingStarts) {
  const auto journal = dir_ / "journal.txt";
  const int port = freePort();
  const auto file = nodeConfig(port,
                               "  - name: alpha\n"                                    // line 9
                               "    config: {journal: " + journal.string() + "}\n"    // line 10
                               "  - name: solana_listener\n"                          // line 11
                               "    config:\n"                                        // line 12
                               "      reconnect_min_ms: 5000\n"                       // line 13
                               "      reconnect_max_ms: 100\n");                      // line 14
  const auto expected =
      file.string() + ":14: plugins[1].config.reconnect_max_ms: reconnect_max_ms must be at least reconnect_min_ms";
  const auto check = runCommand({EVENTNODE_BINARY, "--config", file.string(), "--check-config"});
  EXPECT_EQ(check.exit_code, 1) << check.output;
  EXPECT_NE(check.output.find(expected), std::string::npos) << check.output;

  const auto run = runCommand({EVENTNODE_BINARY, "--config", file.string()});
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find(expected), std::string::npos) << run.output;
  EXPECT_EQ(readFile(journal), "configure alpha\nconfigure alpha\n") << "configured by both runs, started by neither";
}

TEST_F(NodeCliTest, CheckConfigExpandsEnvironmentVariablesAndSaysWhereEachValueCameFrom) {
  ::setenv("EVENTNODE_TEST_SERVER_ID", "gw-7", 1);
  ::setenv("EVENTNODE_TEST_SECRET", "a-secret-that-must-not-be-printed-0123456789", 1);
  ::unsetenv("EVENTNODE_TEST_ROLE");
  const auto file = writeConfig(
      "node:\n"                                              // 1
      "  id: ${EVENTNODE_TEST_SERVER_ID}\n"                  // 2
      "  role: ${EVENTNODE_TEST_ROLE:-gateway}\n"            // 3
      "auth:\n"                                              // 4
      "  secret: ${EVENTNODE_TEST_SECRET}\n");               // 5
  const auto ok = runCommand({EVENTNODE_BINARY, "--config", file.string(), "--check-config"});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("line 2: node.id = \"gw-7\"  (${EVENTNODE_TEST_SERVER_ID}: $EVENTNODE_TEST_SERVER_ID)"),
            std::string::npos)
      << ok.output;
  EXPECT_NE(ok.output.find("line 3: node.role = \"gateway\"  (${EVENTNODE_TEST_ROLE:-gateway}: the default of "
                           "$EVENTNODE_TEST_ROLE (unset))"),
            std::string::npos)
      << ok.output;
  EXPECT_NE(ok.output.find("line 5: auth.secret = (hidden)"), std::string::npos) << ok.output;
  EXPECT_EQ(ok.output.find("a-secret-that-must-not-be-printed"), std::string::npos) << ok.output;

  ::unsetenv("EVENTNODE_TEST_SERVER_ID");
  const auto unset = runCommand({EVENTNODE_BINARY, "--config", file.string(), "--check-config"});
  EXPECT_EQ(unset.exit_code, 1) << unset.output;
  EXPECT_NE(unset.output.find(file.string() + ":2: node.id: environment variable EVENTNODE_TEST_SERVER_ID is not set"),
            std::string::npos)
      << unset.output;
  ::unsetenv("EVENTNODE_TEST_SECRET");
}

TEST_F(NodeCliTest, TheShippedConfigsAreValid) {
  std::vector<std::filesystem::path> files{std::filesystem::path(EVENTNODE_SOURCE_DIR) / "etc/node.yaml"};
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::path(EVENTNODE_SOURCE_DIR) / "etc/roles")) {
    files.push_back(entry.path());
  }
  ASSERT_GE(files.size(), 5u);
  ::setenv("EVENTNODE_JWT_SECRET", kSecret, 1);  // the role files read their secret from it
  for (const auto& file : files) {
    const auto result = runCommand(
        {EVENTNODE_BINARY, "--config", file.string(), "--plugin-dir", EVENTNODE_PLUGIN_DIR, "--check-config"});
    EXPECT_EQ(result.exit_code, 0) << file << "\n" << result.output;
  }
}

TEST_F(NodeCliTest, TheNodeServesHealthzAndStopsCleanlyOnSigterm) {
  const int port = freePort();
  const auto file =
      nodeConfig(port, "  - name: utxo\n  - name: meter\n  - name: pow_batches\n  - name: solana_listener\n");
  ChildProcess node({EVENTNODE_BINARY, "--config", file.string()}, dir_ / "node.log");
  HttpResult health;
  ASSERT_TRUE(waitUntil([&] { return (health = httpRequest(port, "GET", "/healthz")).status == 200; },
                        std::chrono::seconds(20)))
      << node.log();
  const auto body = plugin::Json::parse(health.body);
  EXPECT_EQ(body["status"], "ok");
  EXPECT_EQ(body["node_id"], "cli-test");
  ASSERT_EQ(body["plugins"].size(), 4u);
  for (const auto& p : body["plugins"]) EXPECT_EQ(p["state"], "started") << p.dump();
  EXPECT_EQ(node.stop(SIGTERM), 0) << node.log();
  const auto log = node.log();
  for (const auto* name : {"utxo", "meter", "pow_batches", "solana_listener"}) {
    EXPECT_NE(log.find(std::string("plugin loaded name=") + name), std::string::npos) << log;
    EXPECT_NE(log.find(std::string("plugin stopped name=") + name), std::string::npos) << log;
  }
  EXPECT_NE(log.find("stopping signal=SIGTERM"), std::string::npos);
}

TEST_F(NodeCliTest, APluginDroppedIntoThePluginDirLoadsWithThreeLinesOfConfig) {
  const auto drop_dir = dir_ / "plugins";
  std::filesystem::create_directories(drop_dir);
  std::filesystem::copy_file(std::filesystem::path(FIXTURE_PLUGIN_DIR) / "libgamma.so", drop_dir / "libgamma.so");
  const int port = freePort();
  const auto file =
      writeConfig("node:\n  data_dir: data\n  plugin_dir: [plugins]\nserver:\n  port: " + std::to_string(port) +
                  "\nplugins:\n  - name: gamma\n    config:\n      greeting: dropped-in\n");
  ChildProcess node({EVENTNODE_BINARY, "--config", file.string()}, dir_ / "node.log");
  HttpResult reply;
  ASSERT_TRUE(waitUntil([&] { return (reply = httpRequest(port, "GET", "/fixture/gamma")).status == 200; },
                        std::chrono::seconds(20)))
      << node.log();
  EXPECT_EQ(plugin::Json::parse(reply.body)["greeting"], "dropped-in");
  EXPECT_EQ(node.stop(SIGINT), 0) << node.log();
}

TEST_F(NodeCliTest, ListPluginsShowsNameVersionApiEnabledAndFile) {
  const auto file = nodeConfig(8080, "  - name: alpha\n  - name: beta\n    enabled: false\n  - name: wrong_major\n");
  const auto result = runCommand({EVENTNODE_BINARY, "--config", file.string(), "--list-plugins"});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  // The fixtures report the API version of the headers they were built with.
  const auto api = std::to_string(plugin::kApiVersionMajor) + "." + std::to_string(plugin::kApiVersionMinor);
  EXPECT_NE(result.output.find("alpha\t1.2.3\t" + api + "\tyes\t" FIXTURE_PLUGIN_DIR "/libalpha.so\tenabled"),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("beta\t1.2.3\t" + api + "\tno\t" FIXTURE_PLUGIN_DIR "/libbeta.so\tdisabled"),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("wrong_major\t-\t-\tyes\t-\terror: plugin library"), std::string::npos) << result.output;
}

TEST_F(NodeCliTest, AFailingPluginStopsTheNodeWithExitCodeThreeNamingIt) {
  const int port = freePort();
  const auto file = nodeConfig(port, "  - name: alpha\n  - name: beta\n    config: {fail_start: true}\n");
  const auto result = runCommand({EVENTNODE_BINARY, "--config", file.string()});
  EXPECT_EQ(result.exit_code, 3) << result.output;
  EXPECT_NE(result.output.find("plugin 'beta' failed to start: fixture told to fail in start"), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("plugin stopped name=alpha"), std::string::npos) << result.output;
}

TEST_F(NodeCliTest, APortInUseExitsWithCodeFourAndSaysWhy) {
  const int port = freePort();
  const auto file = nodeConfig(port, "  - name: alpha\n");
  ChildProcess first({EVENTNODE_BINARY, "--config", file.string()}, dir_ / "first.log");
  ASSERT_TRUE(waitUntil([&] { return httpRequest(port, "GET", "/healthz").status == 200; }, std::chrono::seconds(20)));
  const auto second = runCommand({EVENTNODE_BINARY, "--config", file.string()});
  EXPECT_EQ(second.exit_code, 4) << second.output;
  EXPECT_NE(second.output.find("cannot listen on 127.0.0.1:" + std::to_string(port)), std::string::npos)
      << second.output;
  EXPECT_EQ(first.stop(SIGTERM), 0);
}

TEST_F(NodeCliTest, UsageErrorsExitTwoAndNameTheArgument) {
  const auto result = runCommand({EVENTNODE_BINARY, "--colour"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("unknown argument '--colour'"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("usage:"), std::string::npos);
  EXPECT_EQ(runCommand({EVENTNODE_BINARY, "--version"}).exit_code, 0);
  EXPECT_EQ(runCommand({EVENTNODE_BINARY, "--help"}).exit_code, 0);
}

TEST_F(NodeCliTest, TheTokenCommandMintsATokenTheNodeAccepts) {
  const auto file = nodeConfig(8080, "  - name: alpha\n", std::string("auth:\n  secret: ") + kSecret + "\n");
  const auto result = runCommand(
      {EVENTNODE_BINARY, "token", "--config", file.string(), "--sub", "alice", "--role", "admin", "--ttl", "60"});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::string token = result.output;
  while (!token.empty() && token.back() == '\n') token.pop_back();
  core::AuthSection auth;
  auth.algorithm = "HS256";
  auth.secret = kSecret;
  const auto identity = core::JwtAuthenticator(auth).verify(token);
  EXPECT_EQ(identity.user, "alice");
  EXPECT_TRUE(identity.isAdmin());
}

TEST_F(NodeCliTest, AdminRoutesCheckTheTokenAndNeitherSecretNorTokenIsLogged) {
  const int port = freePort();
  const auto file =
      nodeConfig(port, "  - name: alpha\n",
                 std::string("auth:\n  secret: ") + kSecret + "\nlogging:\n  level: debug\n  format: json\n");
  const auto minted =
      runCommand({EVENTNODE_BINARY, "token", "--config", file.string(), "--sub", "ops", "--role", "admin"});
  std::string token = minted.output.substr(0, minted.output.find('\n'));
  ChildProcess node({EVENTNODE_BINARY, "--config", file.string()}, dir_ / "node.log");
  ASSERT_TRUE(waitUntil([&] { return httpRequest(port, "GET", "/healthz").status == 200; }, std::chrono::seconds(20)));
  EXPECT_EQ(httpRequest(port, "GET", "/healthz", "", {"Authorization: Bearer " + token}).status, 200);
  const auto bad = httpRequest(port, "GET", "/healthz", "", {"Authorization: Bearer " + token + "x"});
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(plugin::Json::parse(bad.body)["error"]["message"], "invalid token signature");
  EXPECT_EQ(node.stop(SIGTERM), 0);
  const auto log = node.log();
  EXPECT_EQ(log.find(kSecret), std::string::npos);
  EXPECT_EQ(log.find(token), std::string::npos);
  // JSON log lines: every line is one JSON object with ts, level, logger and msg.
  std::istringstream lines(log);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    const auto json = plugin::Json::parse(line);
    EXPECT_TRUE(json.contains("ts") && json.contains("level") && json.contains("logger") && json.contains("msg"))
        << line;
    ++count;
  }
  EXPECT_GT(count, 5);
}

TEST_F(NodeCliTest, APostWithoutContentLengthIsAnsweredAtOnceAsHavingNoBody) {
  const int port = freePort();
  const auto file = nodeConfig(port, "  - name: alpha\n", "auth:\n  api_keys: [key-0123456789abcdef]\n");
  ChildProcess node({EVENTNODE_BINARY, "--config", file.string()}, dir_ / "node.log");
  ASSERT_TRUE(waitUntil([&] { return httpRequest(port, "GET", "/healthz").status == 200; }, std::chrono::seconds(20)));
  // curl -X POST without data sends exactly this: no Content-Length, no chunked body.
  Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
  socket.setReceiveTimeout(Poco::Timespan(5, 0));
  const std::string request =
      "POST /api/ws/broadcast HTTP/1.1\r\nHost: localhost\r\nX-API-Key: key-0123456789abcdef\r\n\r\n";
  socket.sendBytes(request.data(), static_cast<int>(request.size()));
  char buffer[1024];
  const int received = socket.receiveBytes(buffer, sizeof(buffer));  // times out (throws) if the node waits for a body
  const std::string answer(buffer, static_cast<std::size_t>(received));
  EXPECT_EQ(answer.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("bad_json"), std::string::npos) << answer;
  EXPECT_EQ(node.stop(SIGTERM), 0);
}

TEST_F(NodeCliTest, EveryStatusCarriesItsOwnReasonPhrase) {
  const int port = freePort();
  const auto file = nodeConfig(port, "  - name: alpha\n", "auth:\n  api_keys: [key-0123456789abcdef]\n");
  ChildProcess node({EVENTNODE_BINARY, "--config", file.string()}, dir_ / "node.log");
  ASSERT_TRUE(waitUntil([&] { return httpRequest(port, "GET", "/healthz").status == 200; }, std::chrono::seconds(20)));
  const auto statusLine = [port](const std::string& request) {
    Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
    socket.setReceiveTimeout(Poco::Timespan(5, 0));
    socket.sendBytes(request.data(), static_cast<int>(request.size()));
    char buffer[1024];
    const int received = socket.receiveBytes(buffer, sizeof(buffer));
    const std::string answer(buffer, static_cast<std::size_t>(received));
    return answer.substr(0, answer.find("\r\n"));
  };
  EXPECT_EQ(statusLine("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), "HTTP/1.1 200 OK");
  EXPECT_EQ(statusLine("GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"), "HTTP/1.1 404 Not Found");
  EXPECT_EQ(statusLine("DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), "HTTP/1.1 405 Method Not Allowed");
  EXPECT_EQ(statusLine("GET /api/ws/connections HTTP/1.1\r\nHost: x\r\n\r\n"), "HTTP/1.1 401 Unauthorized");
  EXPECT_EQ(node.stop(SIGTERM), 0);
}

TEST_F(NodeCliTest, ABodyDeclaredAsSomethingOtherThanJsonIsRefusedWith415) {
  const int port = freePort();
  const auto file = nodeConfig(port, "  - name: alpha\n", "auth:\n  api_keys: [key-0123456789abcdef]\n");
  ChildProcess node({EVENTNODE_BINARY, "--config", file.string()}, dir_ / "node.log");
  ASSERT_TRUE(waitUntil([&] { return httpRequest(port, "GET", "/healthz").status == 200; }, std::chrono::seconds(20)));
  const std::string body = R"({"topic":"t","data":1})";
  const std::vector<std::string> key{"X-API-Key: key-0123456789abcdef"};
  const auto with = [&](const std::string& content_type) {
    auto headers = key;
    headers.push_back("Content-Type: " + content_type);
    return httpRequest(port, "POST", "/api/v1/publish", body, headers);
  };
  const auto refused = with("text/plain");
  EXPECT_EQ(refused.status, 415);
  EXPECT_NE(refused.body.find("unsupported_media_type"), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find("text/plain"), std::string::npos) << refused.body;
  EXPECT_EQ(with("application/x-www-form-urlencoded").status, 415);
  EXPECT_EQ(with("application/json").status, 200);
  EXPECT_EQ(with("Application/JSON; charset=utf-8").status, 200);
  EXPECT_EQ(with("application/merge-patch+json").status, 200);
  // No Content-Type at all is taken as JSON.
  Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
  socket.setReceiveTimeout(Poco::Timespan(5, 0));
  const std::string request = "POST /api/v1/publish HTTP/1.1\r\nHost: x\r\nX-API-Key: key-0123456789abcdef\r\n"
                              "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  socket.sendBytes(request.data(), static_cast<int>(request.size()));
  char buffer[1024];
  const int received = socket.receiveBytes(buffer, sizeof(buffer));
  const std::string answer(buffer, static_cast<std::size_t>(received));
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer;
  EXPECT_EQ(node.stop(SIGTERM), 0);
}

TEST_F(NodeCliTest, WithAuthRequiredEveryRouteButThePublicOnesNeedsACredential) {
  const auto run = [&](const std::string& public_routes) {
    const int port = freePort();
    const auto file = nodeConfig(port, "  - name: alpha\n",
                                 "auth:\n  required: true\n  secret: " + std::string(kSecret) +
                                     "\n  api_keys: [key-0123456789abcdef]\n" + public_routes);
    auto node = std::make_unique<ChildProcess>(std::vector<std::string>{EVENTNODE_BINARY, "--config", file.string()},
                                               dir_ / ("node-" + std::to_string(port) + ".log"));
    EXPECT_TRUE(waitUntil([&] { return httpRequest(port, "GET", "/healthz").status == 200; }, std::chrono::seconds(20)));
    return std::make_pair(port, std::move(node));
  };
  {
    // The default: /healthz only. A plugin's public route and /metrics need a credential.
    auto [port, node] = run("");
    const auto fixture = httpRequest(port, "GET", "/fixture/alpha");
    EXPECT_EQ(fixture.status, 401);
    EXPECT_NE(fixture.body.find("auth.public_routes"), std::string::npos) << fixture.body;
    EXPECT_EQ(httpRequest(port, "GET", "/metrics").status, 401);
    EXPECT_EQ(httpRequest(port, "GET", "/fixture/alpha", "", {"X-API-Key: key-0123456789abcdef"}).status, 200);
    EXPECT_EQ(httpRequest(port, "GET", "/metrics", "", {"X-API-Key: key-0123456789abcdef"}).status, 200);
    EXPECT_EQ(node->stop(SIGTERM), 0);
  }
  {
    // An operator opens /metrics and a prefix.
    auto [port, node] = run("  public_routes: [/healthz, /metrics, /fixture/*]\n");
    EXPECT_EQ(httpRequest(port, "GET", "/metrics").status, 200);
    EXPECT_EQ(httpRequest(port, "GET", "/fixture/alpha").status, 200);
    EXPECT_EQ(httpRequest(port, "GET", "/api/ws/connections").status, 401) << "an admin route stays an admin route";
    EXPECT_EQ(node->stop(SIGTERM), 0);
  }
}

TEST_F(NodeCliTest, TwoContentLengthsOrALengthBesideChunkedAreRefusedAndTheConnectionClosed) {
  const int port = freePort();
  const auto file = nodeConfig(port, "  - name: alpha\n", "auth:\n  api_keys: [key-0123456789abcdef]\n");
  ChildProcess node({EVENTNODE_BINARY, "--config", file.string()}, dir_ / "node.log");
  ASSERT_TRUE(waitUntil([&] { return httpRequest(port, "GET", "/healthz").status == 200; }, std::chrono::seconds(20)));
  const std::string head = "POST /api/v1/publish HTTP/1.1\r\nHost: x\r\nX-API-Key: key-0123456789abcdef\r\n";
  const std::string body = R"({"topic":"t","data":1})";
  for (const auto& request :
       {head + "Content-Length: 22\r\nContent-Length: 40\r\n\r\n" + body,
        head + "Content-Length: 22\r\nTransfer-Encoding: chunked\r\n\r\n16\r\n" + body + "\r\n0\r\n\r\n"}) {
    SCOPED_TRACE(request.substr(0, 120));
    Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
    socket.setReceiveTimeout(Poco::Timespan(5, 0));
    socket.sendBytes(request.data(), static_cast<int>(request.size()));
    std::string answer;
    char buffer[1024];
    // Read to the end: the node must close the connection after its answer.
    for (int n; (n = socket.receiveBytes(buffer, sizeof(buffer))) > 0;) answer.append(buffer, static_cast<std::size_t>(n));
    EXPECT_EQ(answer.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << answer;
    EXPECT_NE(answer.find("Content-Length"), std::string::npos) << answer;
    EXPECT_EQ(answer.find("offset"), std::string::npos) << "nothing was published: " << answer;
  }
  EXPECT_EQ(node.stop(SIGTERM), 0);
}

}  // namespace
}  // namespace eventnode::tests
