#pragma once
// The figures of GET /api/solana/status as metrics, and the plugin's health
// from its PubSub connection.
#include "listener.hpp"

#include <eventnode/plugin/host.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace eventnode::plugins::solana_listener {

/// Registers eventnode_solana_listener_pubsub_connected, _pubsub_reconnects_total,
/// _pubsub_notifications_total, _events_published_total{program,source},
/// _duplicates_total, _malformed_total, _rpc_errors_total and _watching. They
/// are read from one status snapshot per scrape (the status reads the cursors
/// from SQLite, once, not once per series).
void registerMetrics(plugin::Host& host, const Listener& listener, const std::vector<std::string>& programs);

/// Turns the PubSub connection's state into health reports: Degraded, with
/// how long and why, while it is down. Called on the scheduler thread.
class ListenerHealth {
 public:
  void check(plugin::Host& host, const Listener& listener);

 private:
  std::optional<std::chrono::steady_clock::time_point> down_since_;
};

}  // namespace eventnode::plugins::solana_listener
