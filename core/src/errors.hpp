#pragma once
// The core's exceptions, used for configuration and start-up only; the hot
// path reports status values instead. Every message names the thing and the fix.
#include <stdexcept>
#include <string>
#include <vector>

namespace eventnode::core {

/// One problem found in a config file: where it is and what is wrong.
struct ConfigProblem {
  std::string path;  ///< YAML path: plugins[2].config.port
  int line = 0;      ///< 1-based line in the file, 0 when unknown
  std::string message;

  /// "<file>:<line>: <path>: <message>"
  std::string format(const std::string& file) const;
};

class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, std::vector<ConfigProblem> problems);
  const std::vector<ConfigProblem>& problems() const { return problems_; }

 private:
  std::vector<ConfigProblem> problems_;
};

class PluginLoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class PluginStartError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class AuthError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace eventnode::core
