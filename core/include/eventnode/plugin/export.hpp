#pragma once
/// EVENTNODE_PLUGIN(MyPlugin) exports a plugin class from its shared library:
/// the API version query `eventnode_plugin_api_version` and the factory
/// `eventnode_plugin_create`, both through Boost.DLL aliases. Use it once, at
/// namespace scope, in one .cpp file of the plugin.
#include <eventnode/plugin/api_version.hpp>
#include <eventnode/plugin/plugin.hpp>

#include <boost/dll/alias.hpp>

#include <memory>

namespace eventnode::plugin {
using ApiVersionQuery = ApiVersion();
using PluginFactory = std::unique_ptr<Plugin>();
inline constexpr const char* kApiVersionSymbol = "eventnode_plugin_api_version";
inline constexpr const char* kFactorySymbol = "eventnode_plugin_create";
}  // namespace eventnode::plugin

#define EVENTNODE_PLUGIN(PluginClass)                                                      \
  namespace eventnode_plugin_export {                                                      \
  ::eventnode::plugin::ApiVersion apiVersion() {                                           \
    return {::eventnode::plugin::kApiVersionMajor, ::eventnode::plugin::kApiVersionMinor}; \
  }                                                                                        \
  std::unique_ptr<::eventnode::plugin::Plugin> create() {                                  \
    return std::make_unique<PluginClass>();                                                \
  }                                                                                        \
  }                                                                                        \
  BOOST_DLL_ALIAS(eventnode_plugin_export::apiVersion, eventnode_plugin_api_version)       \
  BOOST_DLL_ALIAS(eventnode_plugin_export::create, eventnode_plugin_create)
