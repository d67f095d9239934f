#pragma once
// One JSON object per log line, for log shippers:
// {"ts":"2026-11-22T03:10:00.123Z","level":"info","logger":"core.server","msg":"listening port=8080"}
#include <spdlog/formatter.h>

namespace eventnode::core {

class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

}  // namespace eventnode::core
