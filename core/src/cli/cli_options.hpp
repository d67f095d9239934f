#pragma once
// The command line: what to do and with which arguments.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace eventnode::core {

/// Process exit codes, documented in docs/operations.md.
enum ExitCode : int {
  kExitOk = 0,
  kExitConfigInvalid = 1,
  kExitUsage = 2,
  kExitPluginFailed = 3,
  kExitRuntimeError = 4,
};

enum class Command { Run, CheckConfig, ListPlugins, Version, Help, Token };

struct CliOptions {
  Command command = Command::Run;
  std::filesystem::path config = "/etc/eventnode/node.yaml";
  std::vector<std::filesystem::path> plugin_dirs;  ///< --plugin-dir, searched before node.plugin_dir
  // token
  std::string subject;
  std::vector<std::string> roles;
  long long ttl_seconds = 3600;
};

/// Parses argv; on a usage error returns nullopt and writes the reason to `error`.
std::optional<CliOptions> parseCli(const std::vector<std::string>& args, std::string& error);

/// The --help text.
std::string usageText();

}  // namespace eventnode::core
