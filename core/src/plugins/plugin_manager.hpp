#pragma once
// Loads, configures, starts and stops the plugins named in node.yaml, in
// dependency order (appbase-style). Every call into plugin code is guarded:
// a plugin exception becomes a clear error naming the plugin, never a crash.
#include "config/node_config.hpp"
#include "plugins/core_services.hpp"
#include "plugins/plugin_host.hpp"
#include "plugins/plugin_library.hpp"

#include <eventnode/plugin/plugin.hpp>

#include <memory>
#include <string>
#include <vector>

namespace eventnode::core {

/// One row of `eventnode --list-plugins` and of /healthz.
struct PluginStatus {
  std::string name;
  std::string version;
  std::string api_version;
  std::string file;
  bool enabled = false;
  std::string state;  ///< loaded, configured, started, stopped, failed, disabled, or the load error
  PluginHealth health;  ///< the plugin's last report, while started
};

class PluginManager {
 public:
  explicit PluginManager(std::shared_ptr<spdlog::logger> logger);
  ~PluginManager();
  PluginManager(const PluginManager&) = delete;
  PluginManager& operator=(const PluginManager&) = delete;

  /// Loads every enabled plugin, validates its config against its schema,
  /// calls its configure() (where the plugin's own checks live) and works out
  /// the start order; nothing is started. Every problem is appended to
  /// `problems` (path and line in node.yaml); plugins with problems are not kept.
  void load(const NodeConfig& config, std::vector<ConfigProblem>& problems);

  /// start() each plugin in dependency order, all of them configured by load().
  /// On the first failure, calls stop() on the failing plugin (it may have
  /// started threads before it threw), stops those already started (in
  /// reverse) and throws PluginStartError naming the plugin and its reason.
  void startAll(CoreServices& core);

  /// Stops started plugins in reverse order and releases what they registered. Idempotent.
  void stopAll();

  std::vector<PluginStatus> status() const;

 private:
  struct Slot {
    PluginLibrary library;  // first member: destroyed last, after everything the plugin created
    std::unique_ptr<plugin::Plugin> instance;
    std::unique_ptr<PluginHost> host;
    PluginEntry entry;
    plugin::PluginInfo info;
    YAML::Node config;
    std::string state = "loaded";
  };

  /// configure() with the validated config; a refusal becomes a problem with the key's path and line.
  bool configureSlot(Slot& slot, std::vector<ConfigProblem>& problems);
  void stopSlot(Slot& slot);

  std::shared_ptr<spdlog::logger> logger_;
  std::vector<std::unique_ptr<Slot>> slots_;  // in start order
};

/// Every plugin entry of the config, enabled or not, with what its library
/// says about itself; load errors are reported in `state`.
std::vector<PluginStatus> describePlugins(const NodeConfig& config);

}  // namespace eventnode::core
