#include "latency_window.hpp"

#include <algorithm>

namespace eventnode::plugins::solana_listener {

LatencyWindow::LatencyWindow(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {
  samples_.reserve(capacity_);
}

void LatencyWindow::add(std::chrono::microseconds duration) {
  if (samples_.size() < capacity_) {
    samples_.push_back(duration);
    return;
  }
  samples_[next_] = duration;
  next_ = (next_ + 1) % capacity_;
}

plugin::Json LatencyWindow::summary() const {
  if (samples_.empty()) {
    return {{"samples", 0}, {"p50_ms", nullptr}, {"p99_ms", nullptr}, {"max_ms", nullptr}};
  }
  auto sorted = samples_;
  std::sort(sorted.begin(), sorted.end());
  // Nearest rank: the smallest sample with at least p percent of them at or below it.
  const auto at = [&](double p) {
    const auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size()) + 0.999999);
    return static_cast<double>(sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1].count()) / 1000.0;
  };
  return {{"samples", sorted.size()},
          {"p50_ms", at(50)},
          {"p99_ms", at(99)},
          {"max_ms", static_cast<double>(sorted.back().count()) / 1000.0}};
}

}  // namespace eventnode::plugins::solana_listener
