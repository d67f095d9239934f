#include "cli/commands.hpp"

#include "auth/jwt_authenticator.hpp"
#include "errors.hpp"
#include "logging/log_registry.hpp"
#include "node/node.hpp"
#include "plugins/plugin_manager.hpp"
#include "version.hpp"

#include <eventnode/plugin/api_version.hpp>

#include <sys/resource.h>

#include <csignal>
#include <iostream>

namespace eventnode::core {
namespace {

void printProblems(const std::string& file, const std::vector<ConfigProblem>& problems) {
  for (const auto& problem : problems) std::cerr << problem.format(file) << '\n';
}

/// Loads the config and applies --plugin-dir; prints problems and returns false when invalid.
bool loadConfig(const CliOptions& options, NodeConfig& config, std::vector<ConfigProblem>& problems) {
  config = loadNodeConfig(options.config, problems);
  auto dirs = options.plugin_dirs;
  for (auto& dir : dirs) dir = std::filesystem::absolute(dir);
  config.node.plugin_dirs.insert(config.node.plugin_dirs.begin(), dirs.begin(), dirs.end());
  return problems.empty();
}

/// Where each ${VAR} value came from; secrets' values are not shown.
void printExpanded(const std::vector<ExpandedValue>& expanded) {
  if (expanded.empty()) return;
  std::cout << "from the environment:\n";
  for (const auto& value : expanded) {
    std::string sources;
    for (const auto& source : value.sources) sources += (sources.empty() ? "" : ", ") + source;
    std::cout << "  line " << value.line << ": " << value.path << " = "
              << (isSecretKey(value.path) ? std::string("(hidden)") : "\"" + value.value + "\"") << "  ("
              << value.written << ": " << (sources.empty() ? std::string("no variable") : sources) << ")\n";
  }
}

int checkConfig(const CliOptions& options) {
  NodeConfig config;
  std::vector<ConfigProblem> problems;
  loadConfig(options, config, problems);
  std::size_t plugins = 0;
  if (!config.plugins.empty()) {
    LogRegistry logs;
    logs.configure(LoggingSection{"warn", "text", {}, {}});
    PluginManager manager(logs.get("core.plugins"));
    manager.load(config, problems);
    plugins = manager.status().size();
  }
  printExpanded(config.expanded);
  if (!problems.empty()) {
    printProblems(options.config.string(), problems);
    std::cerr << problems.size() << (problems.size() == 1 ? " problem" : " problems") << " in "
              << options.config.string() << '\n';
    return kExitConfigInvalid;
  }
  std::cout << options.config.string() << ": OK (" << plugins << " enabled plugins)\n";
  return kExitOk;
}

int listPlugins(const CliOptions& options) {
  NodeConfig config;
  std::vector<ConfigProblem> problems;
  if (!loadConfig(options, config, problems)) {
    printProblems(options.config.string(), problems);
    return kExitConfigInvalid;
  }
  std::cout << "NAME\tVERSION\tAPI\tENABLED\tFILE\tSTATE\n";
  for (const auto& row : describePlugins(config)) {
    std::cout << row.name << '\t' << (row.version.empty() ? "-" : row.version) << '\t'
              << (row.api_version.empty() ? "-" : row.api_version) << '\t' << (row.enabled ? "yes" : "no") << '\t'
              << (row.file.empty() ? "-" : row.file) << '\t' << row.state << '\n';
  }
  return kExitOk;
}

int mintToken(const CliOptions& options) {
  NodeConfig config;
  std::vector<ConfigProblem> problems;
  if (!loadConfig(options, config, problems)) {
    printProblems(options.config.string(), problems);
    return kExitConfigInvalid;
  }
  try {
    const JwtAuthenticator auth(config.auth);
    std::cout << auth.mint(options.subject, options.roles, std::chrono::seconds(options.ttl_seconds)) << '\n';
    return kExitOk;
  } catch (const AuthError& e) {
    std::cerr << "cannot mint a token: " << e.what() << '\n';
    return kExitConfigInvalid;
  }
}

namespace {

/// Every WebSocket and HTTP connection is a descriptor: the soft limit (often
/// 1,024) is raised to the hard one, as servers do, and an operator whose hard
/// limit is below the configured caps is told so at start rather than by
/// refused connections under load.
void raiseOpenFileLimit(const LimitsSection& limits, spdlog::logger& logger) {
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) != 0) return;
  if (files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
    ::getrlimit(RLIMIT_NOFILE, &files);
  }
  const auto wanted = limits.max_connections + limits.max_http_connections + 256;
  if (files.rlim_cur != RLIM_INFINITY && files.rlim_cur < wanted) {
    logger.warn("open file limit {} is below max_connections + max_http_connections ({}); raise it (ulimit -n, "
                "LimitNOFILE=) or lower the caps, or connections past it are refused",
                files.rlim_cur, wanted);
  }
}

}  // namespace

int runNode(const CliOptions& options) {
  NodeConfig config;
  std::vector<ConfigProblem> problems;
  if (!loadConfig(options, config, problems)) {
    printProblems(options.config.string(), problems);
    return kExitConfigInvalid;
  }
  // Block the stop signals before any thread exists, so every thread inherits
  // the mask and only sigwait() below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a peer closing mid-write is an error code, not a crash

  LogRegistry logs;
  const auto logger = logs.get("core.node");
  try {
    logs.configure(config.logging);
    raiseOpenFileLimit(config.server.limits, *logger);
    Node node(std::move(config), logs);
    try {
      node.start();
    } catch (const ConfigError& e) {
      printProblems(options.config.string(), e.problems());
      logger->error("invalid config; see the problems above");
      return kExitConfigInvalid;
    } catch (const PluginStartError& e) {
      logger->error("{}", e.what());
      return kExitPluginFailed;
    }
    int signal = 0;
    sigwait(&stop_signals, &signal);
    logger->info("stopping signal={}", signal == SIGINT ? "SIGINT" : "SIGTERM");
    node.stop();
    logger->info("stopped");
    return kExitOk;
  } catch (const ConfigError& e) {
    printProblems(options.config.string(), e.problems());
    return kExitConfigInvalid;
  } catch (const AuthError& e) {
    logger->error("{}", e.what());
    return kExitConfigInvalid;
  } catch (const std::exception& e) {
    logger->error("{}", e.what());
    return kExitRuntimeError;
  }
}

}  // namespace

int runCommand(const CliOptions& options) {
  switch (options.command) {
    case Command::Help:
      std::cout << usageText();
      return kExitOk;
    case Command::Version:
      std::cout << "eventnode " << kVersion << " (plugin API " << plugin::kApiVersionMajor << "."
                << plugin::kApiVersionMinor << ")\n";
      return kExitOk;
    case Command::CheckConfig:
      return checkConfig(options);
    case Command::ListPlugins:
      return listPlugins(options);
    case Command::Token:
      return mintToken(options);
    case Command::Run:
      return runNode(options);
  }
  return kExitUsage;
}

}  // namespace eventnode::core
