#include "logging/log_registry.hpp"

#include "logging/json_log_formatter.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace eventnode::core {
namespace {

constexpr const char* kTextPattern = "%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v";

std::unique_ptr<spdlog::formatter> makeFormatter(const std::string& format) {
  if (format == "json") return std::make_unique<JsonLogFormatter>();
  return std::make_unique<spdlog::pattern_formatter>(kTextPattern);
}

}  // namespace

LogRegistry::LogRegistry() : sink_(std::make_shared<spdlog::sinks::stderr_sink_mt>()) {
  settings_.level = "info";
  settings_.format = "text";
  sink_->set_formatter(makeFormatter(settings_.format));
}

void LogRegistry::configure(const LoggingSection& logging) {
  std::lock_guard lock(mutex_);
  settings_ = logging;
  spdlog::sink_ptr sink;
  if (logging.file.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    try {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(logging.file.string());
    } catch (const spdlog::spdlog_ex& e) {
      throw ConfigError("logging.file", {{"logging.file", 0, "cannot open log file: " + std::string(e.what())}});
    }
  }
  sink->set_formatter(makeFormatter(logging.format));
  sink_ = sink;
  for (auto& [name, logger] : loggers_) {
    logger->sinks() = {sink_};
    logger->set_level(levelFor(name));
  }
}

std::shared_ptr<spdlog::logger> LogRegistry::get(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto& logger = loggers_[name];
  if (!logger) {
    logger = std::make_shared<spdlog::logger>(name, sink_);
    logger->set_level(levelFor(name));
    logger->flush_on(spdlog::level::info);
  }
  return logger;
}

spdlog::level::level_enum LogRegistry::levelFor(const std::string& name) const {
  const auto it = settings_.levels.find(name);
  return spdlog::level::from_str(it != settings_.levels.end() ? it->second : settings_.level);
}

}  // namespace eventnode::core
