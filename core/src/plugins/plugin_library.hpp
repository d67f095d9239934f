#pragma once
// Opens a plugin's shared library with Boost.DLL, checks its API version
// before touching anything else in it, and resolves its factory.
#include <eventnode/plugin/export.hpp>

#include "config/node_config.hpp"

#include <boost/dll/shared_library.hpp>

#include <filesystem>
#include <functional>
#include <memory>

namespace eventnode::core {

struct PluginLibrary {
  std::filesystem::path file;
  plugin::ApiVersion api{};
  /// Keeps the code loaded; whoever holds instances created by `factory` must
  /// destroy them before this (declare it first, so it is destroyed last).
  boost::dll::shared_library library;
  std::function<plugin::PluginFactory> factory;
};

/// Finds the library for an entry: `library` as written (absolute, or relative
/// to the config's folder), else lib<name>.so, in the config's folder and then
/// each plugin dir. Throws PluginLoadError listing every place it looked.
std::filesystem::path findPluginLibrary(const PluginEntry& entry, const NodeConfig& config);

/// Loads and checks a plugin library. Throws PluginLoadError naming the file
/// and the fix when it cannot be opened, lacks an export, or has an
/// incompatible API version.
PluginLibrary openPluginLibrary(const std::filesystem::path& file);

/// Whether a plugin built for `plugin` can run on this node's API.
bool isCompatible(plugin::ApiVersion plugin);

}  // namespace eventnode::core
