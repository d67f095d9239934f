#pragma once
/// The utxo plugin's HTTP API under /api/utxo (see plugins/utxo/README.md):
/// submit transactions and votes, confirm blocks, seed UTXOs, query outpoints,
/// addresses, transactions and peers.
#include "client_budget.hpp"
#include "engine.hpp"

#include <eventnode/plugin/host.hpp>

#include <functional>

namespace eventnode::plugins::utxo {

struct HttpApiConfig {
  std::string address_prefix;
  /// Check submitted transactions' input signatures, on the HTTP thread.
  bool verify_signatures = true;
  TransactionLimits limits;
  /// POST /api/utxo/transactions per client: signature checks per second and burst (0: unlimited).
  double checks_per_second = 0;
  double checks_burst = 1;
};

/// Registers the routes on `host` (during start()). `engine` outlives them;
/// `peer_status` answers GET /api/utxo/peers. A submitted transaction is
/// checked cheapest first: the client's budget (429), the counts of inputs
/// and outputs and every field (400), the ledger (duplicate 200, unknown or
/// overspent inputs 400, locked or spent ones 409), and only then the
/// signatures (400), before the engine takes it.
void addHttpRoutes(plugin::Host& host, Engine& engine, HttpApiConfig config, std::function<plugin::Json()> peer_status);

}  // namespace eventnode::plugins::utxo
