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

/// 1-based line of the value at `key_path` below `root` (`pubsub.url`,
/// `masternodes[2].id`); the line of the deepest part of the path that exists
/// when the rest is absent (a key left to its default), 0 when none does.
int lineOfKey(const YAML::Node& root, const std::string& key_path);

}  // namespace eventnode::core
