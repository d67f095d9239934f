#pragma once
// The figures of GET /api/utxo/status and /api/utxo/peers as metrics, and the
// masternode's health from how many masternodes it can reach.
#include "engine.hpp"
#include "p2p_network.hpp"

#include <eventnode/plugin/host.hpp>

#include <string>
#include <vector>

namespace eventnode::plugins::utxo {

/// Registers eventnode_utxo_utxos, _transactions, _pending, _masternodes,
/// _quorum, _engine_batches_total, _engine_commands_total, _engine_queued,
/// _commit_seconds_total, and per peer (label `peer`): _peer_connected{direction},
/// _peer_reconnects_total, _peer_queued, _peer_dropped_total. `network` is
/// null for a network of one.
void registerMetrics(plugin::Host& host, const Engine& engine, const P2pNetwork* network,
                     const std::vector<std::string>& peer_ids);

/// Degraded while fewer masternodes than the quorum are reachable (this one
/// and the peers with an open outbound link): nothing can be finalized then.
void reportHealth(plugin::Host& host, const Engine& engine, const P2pNetwork* network);

}  // namespace eventnode::plugins::utxo
