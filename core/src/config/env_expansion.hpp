#pragma once
// ${VAR} and ${VAR:-default} in node.yaml, so one file serves every process
// of a role and each sets SERVER_ID, REDIS_URL and the like in its
// environment. Expansion happens on the parsed scalars, never on the text, so
// a variable's value cannot change the file's structure.
#include "errors.hpp"

#include <yaml-cpp/yaml.h>

#include <functional>
#include <string>
#include <vector>

namespace eventnode::core {

/// One scalar that held `${…}`: where it is, what was written, what it became and why.
struct ExpandedValue {
  std::string path;  ///< node.id, plugins[1].config.rpc_url
  int line = 0;
  std::string written;              ///< as in the file: redis://${REDIS_HOST:-127.0.0.1}:6379
  std::string value;                ///< after expansion
  std::vector<std::string> sources;  ///< per reference: "$REDIS_HOST", or "the default of $REDIS_HOST (unset)"
};

/// Reads one environment variable; null when unset.
using EnvironmentLookup = std::function<const char*(const std::string& name)>;

/// Expands every `${NAME}` (the variable must be set; empty is a value) and
/// `${NAME:-default}` (the default when NAME is unset or empty) in the
/// scalars of `root`, in place, keeping their lines. `$${` is a literal `${`.
/// Each expanded scalar is appended to `expanded`; an unset variable without
/// a default, a bad name or an unclosed `${` is a problem at its path and line.
void expandEnvironment(YAML::Node& root, std::vector<ExpandedValue>& expanded, std::vector<ConfigProblem>& problems,
                       const EnvironmentLookup& lookup);

/// True for keys whose values are never printed (secrets, keys, passwords, tokens).
bool isSecretKey(const std::string& path);

}  // namespace eventnode::core
