#include "gateway/gateway_metrics.hpp"

#include <sstream>

namespace eventnode::core {

const char* dropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::OutboundBufferFull:
      return "outbound_buffer_full";
    case DropReason::UserRateLimited:
      return "user_rate_limited";
    case DropReason::InboundRateLimited:
      return "inbound_rate_limited";
    case DropReason::TooManyConnections:
      return "too_many_connections";
    case DropReason::TooManyPerIp:
      return "too_many_connections_per_ip";
    case DropReason::AuthFailed:
      return "auth_failed";
    case DropReason::BadRequest:
      return "bad_request";
    case DropReason::BrokerUnavailable:
      return "broker_unavailable";
    case DropReason::HistoryGap:
      return "history_gap";
    case DropReason::kCount:
      break;
  }
  return "unknown";
}

void LoopCounters::observeLatency(std::uint64_t micros) {
  std::size_t bucket = 0;
  while (bucket < kLatencyBucketsUs.size() && micros > kLatencyBucketsUs[bucket]) ++bucket;
  add(latency_buckets[bucket], 1);
  add(latency_sum_us, micros);
  add(latency_count, 1);
}

GatewayMetrics::GatewayMetrics(std::size_t loops) {
  for (std::size_t i = 0; i < loops; ++i) loops_.push_back(std::make_unique<LoopCounters>());
}

void GatewayMetrics::closed(std::uint16_t code) {
  std::lock_guard lock(closes_mutex_);
  ++closes_[code];
}

std::uint64_t GatewayMetrics::deliveries() const {
  std::uint64_t total = 0;
  for (const auto& loop : loops_) total += loop->deliveries.load(std::memory_order_relaxed);
  return total;
}

std::string GatewayMetrics::render() const {
  std::ostringstream out;
  const auto sum = [&](auto member) {
    std::uint64_t total = 0;
    for (const auto& loop : loops_) total += (loop.get()->*member).load(std::memory_order_relaxed);
    return total;
  };
  out << "# HELP eventnode_connections Open WebSocket connections.\n# TYPE eventnode_connections gauge\n"
      << "eventnode_connections " << connections.load() << "\n";
  out << "# HELP eventnode_connections_total WebSocket connections accepted.\n# TYPE eventnode_connections_total "
         "counter\n"
      << "eventnode_connections_total " << connections_total.load() << "\n";
  out << "# HELP eventnode_subscriptions Active topic subscriptions.\n# TYPE eventnode_subscriptions gauge\n"
      << "eventnode_subscriptions " << subscriptions.load() << "\n";
  out << "# HELP eventnode_events_published_total Events published on topics.\n# TYPE eventnode_events_published_total "
         "counter\n"
      << "eventnode_events_published_total " << events_published.load() << "\n";
  out << "# HELP eventnode_deliveries_total Events queued to connections.\n# TYPE eventnode_deliveries_total counter\n"
      << "eventnode_deliveries_total " << sum(&LoopCounters::deliveries) << "\n";
  out << "# HELP eventnode_bytes_out_total Bytes written to WebSocket connections.\n# TYPE eventnode_bytes_out_total "
         "counter\n"
      << "eventnode_bytes_out_total " << sum(&LoopCounters::bytes_out) << "\n";
  out << "# HELP eventnode_bytes_in_total Bytes read from WebSocket connections.\n# TYPE eventnode_bytes_in_total "
         "counter\n"
      << "eventnode_bytes_in_total " << sum(&LoopCounters::bytes_in) << "\n";
  out << "# HELP eventnode_messages_in_total Messages received from clients.\n# TYPE eventnode_messages_in_total "
         "counter\n"
      << "eventnode_messages_in_total " << sum(&LoopCounters::messages_in) << "\n";
  out << "# HELP eventnode_drops_total Refused or dropped connections and events, by reason.\n# TYPE "
         "eventnode_drops_total counter\n";
  for (std::size_t i = 0; i < drops_.size(); ++i) {
    out << "eventnode_drops_total{reason=\"" << dropReasonName(static_cast<DropReason>(i)) << "\"} " << drops_[i].load()
        << "\n";
  }
  out << "# HELP eventnode_closes_total Connections closed, by WebSocket close code.\n# TYPE eventnode_closes_total "
         "counter\n";
  {
    std::lock_guard lock(closes_mutex_);
    for (const auto& [code, count] : closes_)
      out << "eventnode_closes_total{code=\"" << code << "\"} " << count << "\n";
  }
  out << "# HELP eventnode_delivery_latency_seconds Publish to socket write.\n# TYPE "
         "eventnode_delivery_latency_seconds histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b <= kLatencyBucketsUs.size(); ++b) {
    for (const auto& loop : loops_) cumulative += loop->latency_buckets[b].load(std::memory_order_relaxed);
    out << "eventnode_delivery_latency_seconds_bucket{le=\"";
    if (b < kLatencyBucketsUs.size())
      out << static_cast<double>(kLatencyBucketsUs[b]) / 1e6;
    else
      out << "+Inf";
    out << "\"} " << cumulative << "\n";
  }
  out << "eventnode_delivery_latency_seconds_sum " << static_cast<double>(sum(&LoopCounters::latency_sum_us)) / 1e6
      << "\n";
  out << "eventnode_delivery_latency_seconds_count " << sum(&LoopCounters::latency_count) << "\n";
  return out.str();
}

}  // namespace eventnode::core
