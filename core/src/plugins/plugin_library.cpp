#include "plugins/plugin_library.hpp"

#include "errors.hpp"

#include <boost/system/system_error.hpp>

namespace eventnode::core {
namespace {

namespace fs = std::filesystem;

std::string versionText(plugin::ApiVersion version) {
  return std::to_string(version.major) + "." + std::to_string(version.minor);
}

}  // namespace

bool isCompatible(plugin::ApiVersion version) {
  return version.major == plugin::kApiVersionMajor && version.minor <= plugin::kApiVersionMinor;
}

fs::path findPluginLibrary(const PluginEntry& entry, const NodeConfig& config) {
  const fs::path wanted = entry.library.empty() ? fs::path("lib" + entry.name + ".so") : fs::path(entry.library);
  if (wanted.is_absolute()) {
    if (fs::exists(wanted)) return wanted;
    throw PluginLoadError("plugin '" + entry.name + "': library " + wanted.string() + " not found");
  }
  std::vector<fs::path> candidates{config.base_dir / wanted};
  for (const auto& dir : config.node.plugin_dirs) candidates.push_back(dir / wanted);
  std::string looked;
  for (const auto& candidate : candidates) {
    const auto normal = candidate.lexically_normal();
    if (fs::exists(normal)) return normal;
    looked += "\n  " + normal.string();
  }
  throw PluginLoadError("plugin '" + entry.name + "': library " + wanted.string() + " not found; looked in:" + looked +
                        "\n  add its folder to node.plugin_dir or set plugins[].library");
}

PluginLibrary openPluginLibrary(const fs::path& file) {
  PluginLibrary loaded;
  loaded.file = file;
  try {
    loaded.library.load(boost::dll::fs::path(file.string()),
                        boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const boost::system::system_error& e) {
    throw PluginLoadError(
        "cannot load plugin library " + file.string() + ": " + e.what() +
        "; check that it is a plugin built for this platform and that its dependencies are installed");
  }
  for (const char* symbol : {plugin::kApiVersionSymbol, plugin::kFactorySymbol}) {
    if (!loaded.library.has(symbol)) {
      throw PluginLoadError("plugin library " + file.string() + " does not export '" + symbol +
                            "'; is it an eventnode plugin? Plugins must use EVENTNODE_PLUGIN(ClassName) from "
                            "<eventnode/plugin/export.hpp>");
    }
  }
  loaded.api = loaded.library.get_alias<plugin::ApiVersionQuery>(plugin::kApiVersionSymbol)();
  if (!isCompatible(loaded.api)) {
    throw PluginLoadError(
        "plugin library " + file.string() + " was built for plugin API " + versionText(loaded.api) +
        " but this eventnode provides plugin API " + versionText({plugin::kApiVersionMajor, plugin::kApiVersionMinor}) +
        "; rebuild the plugin against this eventnode's plugin API headers, or run an eventnode that provides API " +
        versionText(loaded.api));
  }
  loaded.factory = loaded.library.get_alias<plugin::PluginFactory>(plugin::kFactorySymbol);
  return loaded;
}

}  // namespace eventnode::core
