#pragma once
// The pow_batches plugin's config, declared once: each YAML key bound to the
// member it fills (ConfigBinding), and the checks the schema cannot express.
#include "ml_node_worker.hpp"
#include "outbox_dispatcher.hpp"

#include <eventnode/plugin/config_binding.hpp>

#include <vector>

namespace eventnode::plugins::pow_batches {

/// Everything the plugin's config holds; the defaults are the config's defaults.
struct PowSettings {
  IntakeTiming timing;  ///< flat in the YAML, shared by every ML node's worker
  std::vector<MlNodeConfig> nodes;
  std::vector<RecorderConfig> recorders;
};

/// The keys of `plugins[].config`, for Plugin::configSchema() and readSettings().
plugin::ConfigBinding<PowSettings> settingsBinding();

/// Reads YAML the host validated against settingsBinding().schema(). Throws
/// plugin::ConfigError naming the key (e.g. "nodes[1].node_num") when an ML
/// node id or node_num, or a recorder name, is listed twice, or a url has the
/// wrong scheme.
PowSettings readSettings(const YAML::Node& config);

}  // namespace eventnode::plugins::pow_batches
