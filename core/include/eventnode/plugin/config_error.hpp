#pragma once
/// ConfigError: how Plugin::configure() refuses one key of its config, so that
/// `--check-config` and start-up report it with the key's YAML path and line.
#include <stdexcept>
#include <string>

namespace eventnode::plugin {

/// Thrown by configure() for a value the schema allows but the plugin cannot
/// use (a quorum above the masternode count, a max below its min). `key` is the
/// path below the plugin's `config`, dotted with list indexes: `reconnect_max_ms`,
/// `masternodes[2].public_key`. Any other std::exception is reported at `config`.
/// Default visibility: the host catches it by type across the library boundary.
class __attribute__((visibility("default"))) ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string key, const std::string& message) : std::runtime_error(message), key_(std::move(key)) {}
  const std::string& key() const { return key_; }

 private:
  std::string key_;
};

/// Runs `check` and returns what it returns; a std::invalid_argument it throws
/// (from a parser shared with run-time code) becomes a ConfigError at `key`.
template <typename Check>
decltype(auto) atKey(const std::string& key, Check&& check) {
  try {
    return check();
  } catch (const std::invalid_argument& e) {
    throw ConfigError(key, e.what());
  }
}

}  // namespace eventnode::plugin
