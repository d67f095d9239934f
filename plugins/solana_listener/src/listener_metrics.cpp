#include "listener_metrics.hpp"

#include <memory>

namespace eventnode::plugins::solana_listener {
namespace {

using plugin::Json;
using plugin::MetricType;

double number(const Json& value) {
  return value.is_number() ? value.get<double>() : 0.0;
}

}  // namespace

void registerMetrics(plugin::Host& host, const Listener& listener, const std::vector<std::string>& programs) {
  auto snapshot = std::make_shared<plugin::ScrapeSnapshot<Json>>([&listener] { return listener.status(); });
  const auto read = [snapshot](auto path) {
    return [snapshot, path] { return number(snapshot->get()[Json::json_pointer(path)]); };
  };
  host.observe("pubsub_connected", "1 while the PubSub WebSocket is open.", MetricType::Gauge, {},
               [snapshot] { return snapshot->get()["pubsub"]["connected"] == true ? 1.0 : 0.0; });
  host.observe("pubsub_reconnects_total", "Times the PubSub WebSocket was dialled again.", MetricType::Counter, {},
               read("/pubsub/reconnects"));
  host.observe("pubsub_notifications_total", "PubSub notifications received.", MetricType::Counter, {},
               read("/pubsub/notifications"));
  for (const auto& program : programs) {
    for (const char* source : {"live", "backfilled"}) {
      host.observe("events_published_total", "Transactions published, live or found by a backfill walk.",
                   MetricType::Counter, {{"program", program}, {"source", source}},
                   read("/programs/" + program + "/" + source));
    }
  }
  host.observe("duplicates_total", "Transactions seen again (live and backfilled) and published once.",
               MetricType::Counter, {}, read("/duplicates"));
  host.observe("malformed_total", "PubSub messages and RPC answers refused as malformed.", MetricType::Counter, {},
               read("/malformed"));
  host.observe("rpc_errors_total", "JSON-RPC calls that failed.", MetricType::Counter, {}, read("/rpc_errors"));
  host.observe("watching", "Signatures watched for their outcome (solana:watch).", MetricType::Gauge, {},
               read("/watching"));
}

void ListenerHealth::check(plugin::Host& host, const Listener& listener) {
  const auto pubsub = listener.status()["pubsub"];
  if (pubsub["connected"] == true) {
    down_since_.reset();
    host.reportHealth(plugin::HealthState::Ok, "");
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (!down_since_) down_since_ = now;
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now - *down_since_).count();
  std::string reason = "pubsub disconnected for " + std::to_string(seconds) + " s";
  if (pubsub["last_error"].is_string()) reason += ": " + pubsub["last_error"].get<std::string>();
  host.reportHealth(plugin::HealthState::Degraded, reason);
}

}  // namespace eventnode::plugins::solana_listener
