#pragma once
// Creates and owns every logger of the process (core.* and plugin.*), all
// writing to one sink in the configured format. Kept out of spdlog's global
// registry so plugins cannot reach or reconfigure each other's loggers.
#include "config/node_config.hpp"

#include <spdlog/logger.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace eventnode::core {

class LogRegistry {
 public:
  /// Logs to standard error in text format at info until configure() is called.
  LogRegistry();

  /// Applies node.yaml's `logging` section to existing and future loggers.
  /// Throws ConfigError when the log file cannot be opened.
  void configure(const LoggingSection& logging);

  /// The logger with this name, created on first use. Thread-safe.
  std::shared_ptr<spdlog::logger> get(const std::string& name);

 private:
  spdlog::level::level_enum levelFor(const std::string& name) const;

  std::mutex mutex_;
  spdlog::sink_ptr sink_;
  LoggingSection settings_;
  std::map<std::string, std::shared_ptr<spdlog::logger>> loggers_;
};

}  // namespace eventnode::core
