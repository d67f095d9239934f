#pragma once
// The figures of GET /api/pow/nodes as metrics, and the plugin's health from
// its ML nodes' connections.
#include "ml_node_worker.hpp"

#include <eventnode/plugin/host.hpp>

#include <map>
#include <memory>
#include <string>

namespace eventnode::plugins::pow_batches {

/// Registers, per ML node (label `node`): eventnode_pow_batches_ml_node_connected,
/// _ml_node_reconnects_total, _batches_received_total{transport} and
/// _invalid_messages_total. Each is read from the worker's status at scrape time.
void registerMetrics(plugin::Host& host, const std::map<std::string, std::unique_ptr<MlNodeWorker>>& workers);

/// Degraded, naming them, while any ML node that should be connected is not; Ok otherwise.
void reportHealth(plugin::Host& host, const std::map<std::string, std::unique_ptr<MlNodeWorker>>& workers);

}  // namespace eventnode::plugins::pow_batches
