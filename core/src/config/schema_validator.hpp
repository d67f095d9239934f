#pragma once
// Checks a YAML node against a ConfigSchema and returns a copy with every
// default filled in. Collects all problems instead of stopping at the first,
// so --check-config can list them together.
#include <eventnode/plugin/config_schema.hpp>

#include "errors.hpp"

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace eventnode::core {

/// Validates `input` (a mapping, or null for "all defaults") against `schema`.
/// `path` prefixes every reported path (e.g. "plugins[1].config"); `parent_line`
/// is used for problems that have no line of their own (a missing key).
YAML::Node validateAgainstSchema(const YAML::Node& input, const plugin::ConfigSchema& schema, const std::string& path,
                                 int parent_line, std::vector<ConfigProblem>& problems);

/// 1-based line of a node, 0 when it has none (absent or generated nodes).
int lineOf(const YAML::Node& node);

}  // namespace eventnode::core
