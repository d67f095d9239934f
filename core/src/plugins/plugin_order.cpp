#include "plugins/plugin_order.hpp"

#include <algorithm>
#include <functional>

namespace eventnode::core {

PluginOrderResult orderPlugins(const std::vector<std::string>& plugins,
                               const std::map<std::string, std::vector<std::string>>& dependencies) {
  enum class Mark { None, Visiting, Done };
  std::map<std::string, Mark> marks;
  std::vector<std::string> stack;
  PluginOrderResult result;

  // Depth-first, visiting plugins in config order, so independent plugins keep
  // the order the operator wrote; the stack gives the cycle's path.
  std::function<bool(const std::string&)> visit = [&](const std::string& name) {
    auto& mark = marks[name];
    if (mark == Mark::Done) return true;
    if (mark == Mark::Visiting) {
      const auto start = std::find(stack.begin(), stack.end(), name);
      result.cycle.assign(start, stack.end());
      result.cycle.push_back(name);
      return false;
    }
    mark = Mark::Visiting;
    stack.push_back(name);
    if (const auto it = dependencies.find(name); it != dependencies.end()) {
      for (const auto& dependency : it->second) {
        if (!visit(dependency)) return false;
      }
    }
    stack.pop_back();
    marks[name] = Mark::Done;
    result.order.push_back(name);
    return true;
  };

  for (const auto& name : plugins) {
    if (!visit(name)) {
      result.order.clear();
      return result;
    }
  }
  return result;
}

}  // namespace eventnode::core
