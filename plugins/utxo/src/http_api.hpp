#pragma once
/// The utxo plugin's HTTP API under /api/utxo (see plugins/utxo/README.md):
/// submit transactions and votes, confirm blocks, seed UTXOs, query outpoints,
/// addresses, transactions and peers.
#include "engine.hpp"

#include <eventnode/plugin/host.hpp>

#include <functional>

namespace eventnode::plugins::utxo {

/// Registers the routes on `host` (during start()). `engine` outlives them;
/// `verify_signatures` checks submitted transactions' input signatures on the
/// HTTP thread; `peer_status` answers GET /api/utxo/peers.
void addHttpRoutes(plugin::Host& host, Engine& engine, std::string address_prefix, bool verify_signatures,
                   std::function<plugin::Json()> peer_status);

}  // namespace eventnode::plugins::utxo
