#pragma once
// The durations of the last N occurrences of something (here: the RPC round
// trip that names a live batch), summarized as p50/p99/max for the status
// endpoint. Recent rather than lifetime figures: an operator looking at
// /api/solana/status wants to know how the RPC node answers now.
#include <eventnode/plugin/json.hpp>

#include <chrono>
#include <cstddef>
#include <vector>

namespace eventnode::plugins::solana_listener {

class LatencyWindow {
 public:
  explicit LatencyWindow(std::size_t capacity = 1024);

  void add(std::chrono::microseconds duration);
  /// {"samples","p50_ms","p99_ms","max_ms"} over what the window holds; the
  /// figures are null while it is empty.
  plugin::Json summary() const;

 private:
  std::vector<std::chrono::microseconds> samples_;
  std::size_t next_ = 0;  ///< where the next sample goes once the window is full
  std::size_t capacity_;
};

}  // namespace eventnode::plugins::solana_listener
