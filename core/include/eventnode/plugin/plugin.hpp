#pragma once
/// The plugin contract. A plugin is a shared library exporting a version query
/// and a factory (see export.hpp); the node creates one instance per enabled
/// entry in node.yaml and drives it through
///   construct → configSchema()/info() → configure(config) → start(host) → stop().
/// Every plugin is configured before any plugin starts, and `--check-config`
/// configures without starting. All calls come from the node's main thread. The library stays loaded until
/// the instance and everything it registered with the host are destroyed.
#include <eventnode/plugin/api_version.hpp>
#include <eventnode/plugin/config_error.hpp>
#include <eventnode/plugin/config_schema.hpp>
#include <eventnode/plugin/host.hpp>

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace eventnode::plugin {

struct PluginInfo {
  std::string name{};     ///< matches `plugins[].name` in node.yaml
  std::string version{};  ///< the plugin's own version, for --list-plugins and logs
  std::string description{};
  /// Plugins that must be started before this one (merged with `requires` in node.yaml).
  std::vector<std::string> dependencies{};
};

class Plugin {
 public:
  virtual ~Plugin() = default;

  virtual PluginInfo info() const = 0;
  /// The keys accepted under `config`; the host refuses anything else.
  virtual ConfigSchema configSchema() const { return {}; }
  /// Receives the validated config with defaults filled in, and makes every
  /// check the schema cannot (ranges between keys, files that must exist).
  /// Throw ConfigError naming the key to refuse it (any other std::exception
  /// is reported at `config`). Must not start threads or bind sockets: it also
  /// runs under `--check-config`, where nothing starts.
  virtual void configure(const YAML::Node& config) { (void)config; }
  /// Starts the plugin's work: register routes and subscriptions, start threads.
  /// Throwing stops the node, after stopping the plugins already started.
  virtual void start(Host& host) = 0;
  /// Stops threads and releases resources; must not throw. Called once after
  /// start(), also when start() threw part-way: stop what was started.
  virtual void stop() = 0;
};

}  // namespace eventnode::plugin
