#include "cli/cli_options.hpp"

#include <charconv>

namespace eventnode::core {

std::string usageText() {
  return R"(usage:
  eventnode [--config FILE] [--plugin-dir DIR]...   run the node (default config /etc/eventnode/node.yaml)
  eventnode --config FILE --check-config            validate the config and every plugin's config, list all problems
  eventnode --config FILE --list-plugins            show each configured plugin: name, version, API, file, enabled
  eventnode token --sub ID [--role ROLE]... [--ttl SECONDS] [--config FILE]
                                                    mint a development JWT with the configured key
  eventnode --version | --help

exit codes: 0 ok, 1 invalid config, 2 usage error, 3 plugin failed to load or start, 4 runtime error
)";
}

std::optional<CliOptions> parseCli(const std::vector<std::string>& args, std::string& error) {
  CliOptions options;
  std::size_t i = 0;
  if (!args.empty() && args[0] == "token") {
    options.command = Command::Token;
    i = 1;
  }
  const auto value = [&](const std::string& flag) -> std::optional<std::string> {
    if (i + 1 >= args.size()) {
      error = flag + " needs a value";
      return std::nullopt;
    }
    return args[++i];
  };
  for (; i < args.size(); ++i) {
    const auto& arg = args[i];
    const bool token = options.command == Command::Token;
    if (arg == "--config" || arg == "-c") {
      const auto v = value(arg);
      if (!v) return std::nullopt;
      options.config = *v;
    } else if (arg == "--plugin-dir" && !token) {
      const auto v = value(arg);
      if (!v) return std::nullopt;
      options.plugin_dirs.emplace_back(*v);
    } else if (arg == "--check-config" && !token) {
      options.command = Command::CheckConfig;
    } else if (arg == "--list-plugins" && !token) {
      options.command = Command::ListPlugins;
    } else if (arg == "--version" && !token) {
      options.command = Command::Version;
    } else if (arg == "--help" || arg == "-h") {
      options.command = Command::Help;
      return options;
    } else if (arg == "--sub" && token) {
      const auto v = value(arg);
      if (!v) return std::nullopt;
      options.subject = *v;
    } else if (arg == "--role" && token) {
      const auto v = value(arg);
      if (!v) return std::nullopt;
      options.roles.push_back(*v);
    } else if (arg == "--ttl" && token) {
      const auto v = value(arg);
      if (!v) return std::nullopt;
      const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), options.ttl_seconds);
      if (ec != std::errc{} || end != v->data() + v->size() || options.ttl_seconds <= 0) {
        error = "--ttl needs a positive number of seconds, got '" + *v + "'";
        return std::nullopt;
      }
    } else {
      error = "unknown argument '" + arg + "'" + (token ? " for 'eventnode token'" : "");
      return std::nullopt;
    }
  }
  if (options.command == Command::Token && options.subject.empty()) {
    error = "eventnode token needs --sub ID";
    return std::nullopt;
  }
  return options;
}

}  // namespace eventnode::core
