#pragma once
// Counters of the gateway, rendered as Prometheus text on GET /metrics.
// Counters touched by the I/O threads per delivery live in per-loop blocks
// (one writer each, relaxed atomics) so threads never share a hot cache line.
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace eventnode::core {

/// Why an event or a connection was refused or dropped; each is a label value.
enum class DropReason : std::size_t {
  OutboundBufferFull,  ///< connection closed with 1008: its reader fell behind
  UserRateLimited,     ///< user:<id> event beyond user_events_per_minute
  InboundRateLimited,  ///< client message beyond messages_per_second
  TooManyConnections,  ///< HTTP 503 before upgrade
  TooManyPerIp,        ///< HTTP 503 before upgrade, per-IP cap
  AuthFailed,          ///< HTTP 401 before upgrade
  BadRequest,          ///< malformed or refused client message
  BrokerUnavailable,   ///< publish refused with 503: Redis could not record it
  HistoryGap,          ///< events a process missed that Redis no longer held (counted per event)
  kCount
};

const char* dropReasonName(DropReason reason);

/// Latency buckets of publish → written to the socket, in microseconds.
inline constexpr std::array<std::uint64_t, 12> kLatencyBucketsUs{50,   100,   250,   500,   1000,   2500,
                                                                 5000, 10000, 25000, 50000, 100000, 1000000};

/// Counters written by one I/O thread.
struct LoopCounters {
  std::atomic<std::uint64_t> deliveries{0};
  std::atomic<std::uint64_t> bytes_out{0};
  std::atomic<std::uint64_t> messages_in{0};
  std::atomic<std::uint64_t> bytes_in{0};
  std::array<std::atomic<std::uint64_t>, kLatencyBucketsUs.size() + 1> latency_buckets{};
  std::atomic<std::uint64_t> latency_sum_us{0};
  std::atomic<std::uint64_t> latency_count{0};

  void add(std::atomic<std::uint64_t>& counter, std::uint64_t n) {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void observeLatency(std::uint64_t micros);
};

class GatewayMetrics {
 public:
  explicit GatewayMetrics(std::size_t loops);

  LoopCounters& loop(std::size_t index) { return *loops_[index]; }

  std::atomic<std::int64_t> connections{0};
  std::atomic<std::uint64_t> connections_total{0};
  std::atomic<std::int64_t> subscriptions{0};
  std::atomic<std::uint64_t> events_published{0};

  void drop(DropReason reason, std::uint64_t count = 1) {
    drops_[static_cast<std::size_t>(reason)].fetch_add(count, std::memory_order_relaxed);
  }
  std::uint64_t drops(DropReason reason) const { return drops_[static_cast<std::size_t>(reason)].load(); }
  void closed(std::uint16_t code);

  std::uint64_t deliveries() const;

  /// Prometheus text exposition of every counter.
  std::string render() const;

 private:
  std::vector<std::unique_ptr<LoopCounters>> loops_;
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(DropReason::kCount)> drops_{};
  mutable std::mutex closes_mutex_;
  std::map<std::uint16_t, std::uint64_t> closes_;
};

}  // namespace eventnode::core
