#pragma once
/// The build of the C++ types that cross the plugin boundary besides the API
/// itself: nlohmann::json, YAML::Node, spdlog::logger (and its fmt), and the
/// standard library's. Two libraries built against different versions or
/// settings of these disagree on their layout without a word; so a plugin
/// exports its signature (EVENTNODE_PLUGIN does it) and the host refuses a
/// library whose signature differs from its own, naming what differs.
#include <eventnode/plugin/json.hpp>

#include <spdlog/logger.h>
#include <spdlog/version.h>
#include <yaml-cpp/yaml.h>

#include <functional>
#include <string>

namespace eventnode::plugin {

inline constexpr const char* kAbiSymbol = "eventnode_plugin_abi";
using AbiQuery = const char*();

/// `name=value` pairs joined by `;`, always in the same order. Built from the
/// headers this translation unit sees, so a plugin's and the host's differ
/// exactly when they were built against different ones.
inline std::string abiSignature() {
  const auto field = [](const char* name, const std::string& value) { return std::string(name) + "=" + value + ";"; };
  const auto version = [](int major, int minor, int patch) {
    return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  };
  std::string signature;
  signature += field("nlohmann_json", version(NLOHMANN_JSON_VERSION_MAJOR, NLOHMANN_JSON_VERSION_MINOR,
                                              NLOHMANN_JSON_VERSION_PATCH));
  signature += field("json_diagnostics", std::to_string(JSON_DIAGNOSTICS));
  signature += field("sizeof_json", std::to_string(sizeof(Json)));
  signature += field("spdlog", version(SPDLOG_VER_MAJOR, SPDLOG_VER_MINOR, SPDLOG_VER_PATCH));
#ifdef SPDLOG_FMT_EXTERNAL
  signature += field("fmt", "external-" + std::to_string(FMT_VERSION));
#else
  signature += field("fmt", "bundled-" + std::to_string(FMT_VERSION));
#endif
  signature += field("sizeof_logger", std::to_string(sizeof(spdlog::logger)));
  signature += field("sizeof_yaml_node", std::to_string(sizeof(YAML::Node)));
  signature += field("sizeof_yaml_mark", std::to_string(sizeof(YAML::Mark)));
  signature += field("cxx11_abi", std::to_string(_GLIBCXX_USE_CXX11_ABI));
  signature += field("sizeof_string", std::to_string(sizeof(std::string)));
  signature += field("sizeof_function", std::to_string(sizeof(std::function<void()>)));
  return signature;
}

}  // namespace eventnode::plugin
