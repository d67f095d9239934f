#include "plugins/plugin_library.hpp"

#include "errors.hpp"

#include <boost/system/system_error.hpp>

#include <utility>
#include <vector>

namespace eventnode::core {
namespace {

namespace fs = std::filesystem;

std::string versionText(plugin::ApiVersion version) {
  return std::to_string(version.major) + "." + std::to_string(version.minor);
}

/// The `name=value;` pairs of an ABI signature, in order.
std::vector<std::pair<std::string, std::string>> abiFields(const std::string& signature) {
  std::vector<std::pair<std::string, std::string>> fields;
  std::size_t at = 0;
  while (at < signature.size()) {
    auto end = signature.find(';', at);
    if (end == std::string::npos) end = signature.size();
    const auto pair = signature.substr(at, end - at);
    const auto equals = pair.find('=');
    fields.emplace_back(pair.substr(0, equals), equals == std::string::npos ? "" : pair.substr(equals + 1));
    at = end + 1;
  }
  return fields;
}

/// "nlohmann_json 3.10.5 (this node: 3.11.2), ..." for every field that differs or is missing on one side.
std::string abiDifferences(const std::string& theirs, const std::string& ours) {
  const auto their_fields = abiFields(theirs);
  const auto our_fields = abiFields(ours);
  const auto lookup = [](const auto& fields, const std::string& name) -> std::string {
    for (const auto& [key, value] : fields) {
      if (key == name) return value;
    }
    return "(none)";
  };
  std::string text;
  const auto note = [&](const std::string& name, const std::string& their, const std::string& our) {
    if (their == our) return;
    text += (text.empty() ? "" : ", ") + name + " " + their + " (this node: " + our + ")";
  };
  for (const auto& [name, value] : our_fields) note(name, lookup(their_fields, name), value);
  for (const auto& [name, value] : their_fields) {
    if (lookup(our_fields, name) == "(none)") note(name, value, "(none)");
  }
  return text;
}

}  // namespace

bool isCompatible(plugin::ApiVersion version) {
  return version.major == plugin::kApiVersionMajor && version.minor <= plugin::kApiVersionMinor;
}

fs::path findPluginLibrary(const PluginEntry& entry, const NodeConfig& config) {
  fs::path wanted = entry.library.empty() ? fs::path("lib" + entry.name + ".so") : fs::path(entry.library);
  if (wanted.is_absolute()) {
    if (fs::exists(wanted)) return wanted;
    throw PluginLoadError("plugin '" + entry.name + "': library " + wanted.string() + " not found");
  }
  std::vector<fs::path> candidates{config.base_dir / wanted};
  for (const auto& dir : config.node.plugin_dirs) candidates.push_back(dir / wanted);
  std::string looked;
  for (const auto& candidate : candidates) {
    auto normal = candidate.lexically_normal();
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
  // The API version says the Host and Plugin classes match; this says the
  // library types inside them (Json, YAML::Node, spdlog::logger) do too.
  if (!loaded.library.has(plugin::kAbiSymbol)) {
    throw PluginLoadError("plugin library " + file.string() + " does not export '" + plugin::kAbiSymbol +
                          "'; rebuild it with EVENTNODE_PLUGIN from this eventnode's <eventnode/plugin/export.hpp>");
  }
  const std::string theirs = loaded.library.get_alias<plugin::AbiQuery>(plugin::kAbiSymbol)();
  const auto ours = plugin::abiSignature();
  if (theirs != ours) {
    throw PluginLoadError("plugin library " + file.string() +
                          " was built against other versions or settings of the libraries whose types cross the "
                          "plugin boundary: " +
                          abiDifferences(theirs, ours) +
                          "; rebuild it against the packages this eventnode was built with");
  }
  loaded.factory = loaded.library.get_alias<plugin::PluginFactory>(plugin::kFactorySymbol);
  return loaded;
}

}  // namespace eventnode::core
