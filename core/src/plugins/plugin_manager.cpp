#include "plugins/plugin_manager.hpp"

#include "config/schema_validator.hpp"
#include "errors.hpp"
#include "plugins/plugin_order.hpp"

#include <eventnode/plugin/config_error.hpp>

#include <map>
#include <set>

namespace eventnode::core {
namespace {

std::string versionText(plugin::ApiVersion version) {
  return std::to_string(version.major) + "." + std::to_string(version.minor);
}

/// Runs a call into plugin code; returns the failure's message, or "" on success.
template <typename Call>
std::string guardedCall(Call&& call) {
  try {
    call();
    return {};
  } catch (const std::exception& e) {
    return e.what()[0] ? e.what() : "exception with an empty message";
  } catch (...) {
    return "non-standard exception";
  }
}

}  // namespace

PluginManager::PluginManager(std::shared_ptr<spdlog::logger> logger) : logger_(std::move(logger)) {}

PluginManager::~PluginManager() {
  stopAll();
}

void PluginManager::load(const NodeConfig& config, std::vector<ConfigProblem>& problems) {
  std::map<std::string, std::unique_ptr<Slot>> loaded;
  std::vector<std::string> names;
  std::map<std::string, std::vector<std::string>> dependencies;
  std::set<std::string> enabled;
  for (const auto& entry : config.plugins) {
    if (entry.enabled && !entry.name.empty()) enabled.insert(entry.name);
  }

  for (const auto& entry : config.plugins) {
    if (!entry.enabled || entry.name.empty()) continue;
    auto slot = std::make_unique<Slot>();
    slot->entry = entry;
    try {
      slot->library = openPluginLibrary(findPluginLibrary(entry, config));
    } catch (const PluginLoadError& e) {
      problems.push_back({entry.path() + ".library", entry.line, e.what()});
      continue;
    }
    const auto file = slot->library.file.string();
    plugin::ConfigSchema schema;
    auto failure = guardedCall([&] {
      slot->instance = slot->library.factory();
      if (!slot->instance) throw std::runtime_error("factory returned no plugin");
      slot->info = slot->instance->info();
      schema = slot->instance->configSchema();
    });
    if (!failure.empty()) {
      problems.push_back(
          {entry.path(), entry.line, "plugin library " + file + " failed while describing itself: " + failure});
      continue;
    }
    if (slot->info.name != entry.name) {
      problems.push_back({entry.path() + ".name", entry.line,
                          "library " + file + " provides plugin '" + slot->info.name + "', not '" + entry.name + "'"});
      continue;
    }
    const auto before = problems.size();
    slot->config = validateAgainstSchema(entry.config, schema, entry.path() + ".config", entry.line, problems);
    auto requires_list = entry.requires_plugins;
    requires_list.insert(requires_list.end(), slot->info.dependencies.begin(), slot->info.dependencies.end());
    for (const auto& dependency : requires_list) {
      if (!enabled.count(dependency)) {
        problems.push_back(
            {entry.path() + ".requires", entry.line,
             "plugin '" + entry.name + "' requires '" + dependency + "', which is not an enabled plugin"});
      }
    }
    if (problems.size() != before) continue;
    names.push_back(entry.name);
    dependencies[entry.name] = requires_list;
    loaded[entry.name] = std::move(slot);
  }

  for (auto& [name, list] : dependencies) {
    std::erase_if(list, [&](const std::string& dependency) { return !loaded.count(dependency); });
  }
  const auto order = orderPlugins(names, dependencies);
  if (!order.cycle.empty()) {
    std::string cycle;
    for (const auto& name : order.cycle) cycle += (cycle.empty() ? "" : " -> ") + name;
    problems.push_back({"plugins", 0, "plugin dependency cycle: " + cycle + "; remove one of these requires"});
    return;
  }
  // Semantic checks run here, in start order, for every plugin before any starts, and under --check-config alike.
  for (const auto& name : order.order) {
    if (configureSlot(*loaded[name], problems)) slots_.push_back(std::move(loaded[name]));
  }
  for (const auto& slot : slots_) {
    logger_->info("plugin loaded name={} version={} api={} file={}", slot->info.name, slot->info.version,
                  versionText(slot->library.api), slot->library.file.string());
  }
}

bool PluginManager::configureSlot(Slot& slot, std::vector<ConfigProblem>& problems) {
  const auto& entry = slot.entry;
  const auto config_path = entry.path() + ".config";
  const auto config_line = entry.config.IsDefined() && lineOf(entry.config) > 0 ? lineOf(entry.config) : entry.line;
  try {
    slot.instance->configure(slot.config);
    slot.state = "configured";
    return true;
  } catch (const plugin::ConfigError& e) {
    const auto line = lineOfKey(entry.config, e.key());
    problems.push_back({config_path + (e.key().empty() || e.key().front() == '[' ? "" : ".") + e.key(),
                        line > 0 ? line : config_line, e.what()});
  } catch (const std::exception& e) {
    problems.push_back({config_path, config_line,
                        "plugin '" + entry.name + "' refused its config: " +
                            (e.what()[0] ? e.what() : "exception with an empty message")});
  } catch (...) {
    problems.push_back({config_path, config_line, "plugin '" + entry.name + "' refused its config: non-standard exception"});
  }
  return false;
}

void PluginManager::startAll(CoreServices& core) {
  for (auto& slot : slots_) {
    const auto& name = slot->info.name;
    slot->host = std::make_unique<PluginHost>(name, core);
    const auto failure = guardedCall([&] { slot->instance->start(*slot->host); });
    if (!failure.empty()) {
      // start() may have started threads before it threw: stop() is what joins them.
      slot->state = "started";
      stopSlot(*slot);
      slot->state = "failed";
      stopAll();
      throw PluginStartError("plugin '" + name + "' failed to start: " + failure);
    }
    slot->state = "started";
    logger_->info("plugin started name={} version={}", name, slot->info.version);
  }
}

void PluginManager::stopSlot(Slot& slot) {
  if (slot.state != "started") return;
  slot.host->stopBusDelivery();
  const auto failure = guardedCall([&] { slot.instance->stop(); });
  if (!failure.empty()) logger_->error("plugin stop threw name={} error=\"{}\"", slot.info.name, failure);
  slot.host->releaseAll();
  slot.state = "stopped";
  logger_->info("plugin stopped name={}", slot.info.name);
}

void PluginManager::stopAll() {
  for (auto it = slots_.rbegin(); it != slots_.rend(); ++it) stopSlot(**it);
}

std::vector<PluginStatus> PluginManager::status() const {
  std::vector<PluginStatus> rows;
  for (const auto& slot : slots_) {
    rows.push_back({slot->info.name, slot->info.version, versionText(slot->library.api), slot->library.file.string(),
                    true, slot->state, slot->host && slot->state == "started" ? slot->host->health() : PluginHealth{}});
  }
  return rows;
}

std::vector<PluginStatus> describePlugins(const NodeConfig& config) {
  std::vector<PluginStatus> rows;
  for (const auto& entry : config.plugins) {
    PluginStatus row{entry.name, "", "", "", entry.enabled, entry.enabled ? "enabled" : "disabled", {}};
    try {
      auto library = openPluginLibrary(findPluginLibrary(entry, config));
      row.file = library.file.string();
      row.api_version = versionText(library.api);
      const auto failure = guardedCall([&] { row.version = library.factory()->info().version; });
      if (!failure.empty()) row.state = "error: " + failure;
    } catch (const PluginLoadError& e) {
      row.state = std::string("error: ") + e.what();
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace eventnode::core
