#include "pow_metrics.hpp"

namespace eventnode::plugins::pow_batches {

void registerMetrics(plugin::Host& host, const std::map<std::string, std::unique_ptr<MlNodeWorker>>& workers) {
  using plugin::MetricType;
  for (const auto& [id, owned] : workers) {
    const auto* worker = owned.get();
    const auto figure = [worker](const char* key) { return [worker, key] { return worker->status()[key].get<double>(); }; };
    host.observe("ml_node_connected", "1 while the WebSocket to the ML node is open.", MetricType::Gauge, {{"node", id}},
                 [worker] { return worker->status()["state"] == "connected" ? 1.0 : 0.0; });
    host.observe("ml_node_reconnects_total", "Times the WebSocket to the ML node was dialled again.",
                 MetricType::Counter, {{"node", id}}, figure("reconnects"));
    for (const char* transport : {"websocket", "http"}) {
      host.observe("batches_received_total", "Valid batches received from the ML node, by transport.",
                   MetricType::Counter, {{"node", id}, {"transport", transport}},
                   [worker, transport] { return worker->status()["batches"][transport].get<double>(); });
    }
    host.observe("invalid_messages_total", "Messages from the ML node refused as malformed.", MetricType::Counter,
                 {{"node", id}}, figure("invalid_messages"));
  }
}

void reportHealth(plugin::Host& host, const std::map<std::string, std::unique_ptr<MlNodeWorker>>& workers) {
  std::string down;
  for (const auto& [id, worker] : workers) {
    const auto status = worker->status();
    // A stopped worker was stopped on purpose (autostart off, or the admin API).
    if (status["state"] == "connected" || status["state"] == "stopped") continue;
    down += (down.empty() ? "" : ", ") + id;
    if (status["last_error"].is_string()) down += " (" + status["last_error"].get<std::string>() + ")";
  }
  if (down.empty()) {
    host.reportHealth(plugin::HealthState::Ok, "");
  } else {
    host.reportHealth(plugin::HealthState::Degraded, "ML nodes not connected: " + down);
  }
}

}  // namespace eventnode::plugins::pow_batches
