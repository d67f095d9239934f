#pragma once
/// Metrics a plugin registers through Host (counter(), gauge(), histogram(),
/// observe()). GET /metrics shows each as `eventnode_<plugin>_<name>` with its
/// HELP and TYPE lines, by the Prometheus conventions. Updating one is
/// lock-free and safe from any thread; the host owns the storage, so a metric
/// stays valid after the plugin drops its pointer.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace eventnode::plugin {

/// The labels of one series, in order: {{"node", "ml-1"}}. Names match
/// [a-zA-Z_][a-zA-Z0-9_]*; values are any UTF-8 text (escaped on output).
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

/// What a figure read at scrape time (Host::observe) is.
enum class MetricType {
  Counter,  ///< only grows (resets at restart): totals, `_total` names
  Gauge,    ///< goes up and down: queue depths, connected peers
};

/// A count that only grows.
class Counter {
 public:
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

/// A value that goes up and down.
class Gauge {
 public:
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void add(double delta) {
    auto current = value_.load(std::memory_order_relaxed);
    while (!value_.compare_exchange_weak(current, current + delta, std::memory_order_relaxed)) {
    }
  }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

/// Observations counted into buckets by their upper bounds (`le`), with their sum and count.
class Histogram {
 public:
  /// `bounds`: ascending upper bounds; a last bucket without bound (+Inf) is added.
  explicit Histogram(std::vector<double> bounds)
      : bounds_(std::move(bounds)), counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

  void observe(double value) {
    std::size_t bucket = 0;
    while (bucket < bounds_.size() && value > bounds_[bucket]) ++bucket;
    counts_[bucket].fetch_add(1, std::memory_order_relaxed);
    auto sum = sum_.load(std::memory_order_relaxed);
    while (!sum_.compare_exchange_weak(sum, sum + value, std::memory_order_relaxed)) {
    }
  }

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative;  ///< per bound, then +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const {
    Snapshot snapshot{bounds_, {}, sum_.load(std::memory_order_relaxed), 0};
    std::uint64_t running = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
      running += counts_[i].load(std::memory_order_relaxed);
      snapshot.cumulative.push_back(running);
    }
    snapshot.count = running;
    return snapshot;
  }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

/// A value worth computing once per scrape rather than once per series that
/// reads it (a status that takes a lock or reads a database): get() gives the
/// last value while it is younger than `max_age`, else computes a new one.
/// Thread-safe; `compute` runs on the caller's thread, under the snapshot's lock.
template <typename T>
class ScrapeSnapshot {
 public:
  explicit ScrapeSnapshot(std::function<T()> compute,
                          std::chrono::milliseconds max_age = std::chrono::milliseconds(500))
      : compute_(std::move(compute)), max_age_(max_age) {}

  T get() {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (!taken_ || now - *taken_ > max_age_) {
      value_ = compute_();
      taken_ = now;
    }
    return value_;
  }

 private:
  std::function<T()> compute_;
  std::chrono::milliseconds max_age_;
  std::mutex mutex_;
  T value_{};
  std::optional<std::chrono::steady_clock::time_point> taken_;
};

}  // namespace eventnode::plugin
