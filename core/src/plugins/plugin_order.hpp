#pragma once
// Start order of plugins from their dependencies: each plugin starts after
// every plugin it requires; otherwise the config's order is kept.
#include <map>
#include <string>
#include <vector>

namespace eventnode::core {

struct PluginOrderResult {
  std::vector<std::string> order;  ///< start order (stop is the reverse); empty on a cycle
  std::vector<std::string> cycle;  ///< "a", "b", "a" when a requires b requires a
};

/// `plugins` in config order; `dependencies[name]` the plugins it requires.
/// Every dependency must itself be in `plugins` (check that first).
PluginOrderResult orderPlugins(const std::vector<std::string>& plugins,
                               const std::map<std::string, std::vector<std::string>>& dependencies);

}  // namespace eventnode::core
