#pragma once
/// EVENTNODE_PLUGIN(MyPlugin) exports a plugin class from its shared library:
/// the API version query `eventnode_plugin_api_version`, the build signature
/// `eventnode_plugin_abi` (abi.hpp) and the factory `eventnode_plugin_create`,
/// all through Boost.DLL aliases. Use it once, at namespace scope, in one .cpp
/// file of the plugin.
#include <eventnode/plugin/abi.hpp>
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
  const char* abi() {                                                                      \
    static const std::string signature = ::eventnode::plugin::abiSignature();              \
    return signature.c_str();                                                              \
  }                                                                                        \
  std::unique_ptr<::eventnode::plugin::Plugin> create() {                                  \
    return std::make_unique<PluginClass>();                                                \
  }                                                                                        \
  }                                                                                        \
  BOOST_DLL_ALIAS(eventnode_plugin_export::apiVersion, eventnode_plugin_api_version)       \
  BOOST_DLL_ALIAS(eventnode_plugin_export::abi, eventnode_plugin_abi)                      \
  BOOST_DLL_ALIAS(eventnode_plugin_export::create, eventnode_plugin_create)
