#pragma once
/// How long to wait before the next attempt at an outside system (a redial,
/// a redelivery): exponential steps from `min` to `max`, with jitter, back to
/// `min` on success. One policy for every plugin's outbound connections.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace eventnode::plugin {

struct BackoffOptions {
  /// The first step. Each failure doubles it, up to `max`; min == max is a fixed delay.
  std::chrono::milliseconds min{500};
  /// The longest step. A max below min counts as min.
  std::chrono::milliseconds max{30000};
  /// Each delay is drawn from [0, step] instead of being the step: clients
  /// that lost a server together do not all come back at the same instant
  /// (the "full jitter" of the AWS architecture blog).
  bool full_jitter = true;
  /// Plus a draw from [0, added_jitter], on top of the step: a fixed delay
  /// that still spreads the clients (e.g. 3 s + 0..2 s).
  std::chrono::milliseconds added_jitter{0};
};

/// The delays of one link (one peer, one recorder). Not thread-safe: the
/// link's own thread uses it. Never throws.
class Backoff {
 public:
  /// Seeded from std::random_device; give a seed for a repeatable sequence (tests).
  explicit Backoff(BackoffOptions options) : Backoff(options, std::random_device{}()) {}
  Backoff(BackoffOptions options, std::uint64_t seed) : options_(options), random_(seed) {
    options_.min = std::max(options_.min, std::chrono::milliseconds(0));
    options_.max = std::max(options_.max, options_.min);
    options_.added_jitter = std::max(options_.added_jitter, std::chrono::milliseconds(0));
    step_ = options_.min;
  }

  /// The delay before the next attempt, after a failure; the step doubles for the one after.
  std::chrono::milliseconds next() {
    auto delay = step_;
    if (options_.full_jitter) delay = draw(step_);
    if (options_.added_jitter.count() > 0) delay += draw(options_.added_jitter);
    // Doubling from a step at or past max/2 would overshoot (or overflow): stop at max.
    step_ = step_ >= options_.max / 2 ? options_.max : std::min(step_ * 2, options_.max);
    ++failures_;
    return delay;
  }

  /// An attempt succeeded (a handshake, a delivery): the next delay starts from min again.
  void reset() {
    step_ = options_.min;
    failures_ = 0;
  }

  /// The step the next delay is drawn from (before jitter).
  std::chrono::milliseconds step() const { return step_; }
  /// Failures since the last reset.
  std::uint64_t failures() const { return failures_; }
  const BackoffOptions& options() const { return options_; }

 private:
  std::chrono::milliseconds draw(std::chrono::milliseconds upto) {
    std::uniform_int_distribution<std::chrono::milliseconds::rep> uniform(0, upto.count());
    return std::chrono::milliseconds(uniform(random_));
  }

  BackoffOptions options_;
  std::mt19937_64 random_;
  std::chrono::milliseconds step_{0};
  std::uint64_t failures_ = 0;
};

}  // namespace eventnode::plugin
