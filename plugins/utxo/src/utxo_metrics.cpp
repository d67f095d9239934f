#include "utxo_metrics.hpp"

#include <memory>

namespace eventnode::plugins::utxo {
namespace {

using plugin::Json;
using plugin::MetricType;

struct LedgerFigures {
  double utxos = 0;
  double transactions = 0;
  double pending = 0;
  double masternodes = 0;
  double quorum = 0;
};

/// This peer's entry of P2pNetwork::status(), or null.
Json peerStatus(const Json& peers, const std::string& id) {
  for (const auto& peer : peers) {
    if (peer["id"] == id) return peer;
  }
  return nullptr;
}

double number(const Json& value) {
  return value.is_number() ? value.get<double>() : value.is_boolean() ? (value.get<bool>() ? 1.0 : 0.0) : 0.0;
}

}  // namespace

void registerMetrics(plugin::Host& host, const Engine& engine, const P2pNetwork* network,
                     const std::vector<std::string>& peer_ids) {
  auto ledger = std::make_shared<plugin::ScrapeSnapshot<LedgerFigures>>([&engine] {
    return engine.read([](const Ledger& l) {
      return LedgerFigures{static_cast<double>(l.utxosCount()), static_cast<double>(l.transactionCount()),
                           static_cast<double>(l.pendingCount()), static_cast<double>(l.totalNodes()),
                           static_cast<double>(l.quorumSize())};
    });
  });
  const auto figure = [ledger](double LedgerFigures::*field) { return [ledger, field] { return ledger->get().*field; }; };
  host.observe("utxos", "Unspent outputs in the ledger.", MetricType::Gauge, {}, figure(&LedgerFigures::utxos));
  host.observe("transactions", "Transactions the ledger holds, decided or pending.", MetricType::Gauge, {},
               figure(&LedgerFigures::transactions));
  host.observe("pending", "Transactions waiting for their votes.", MetricType::Gauge, {},
               figure(&LedgerFigures::pending));
  host.observe("masternodes", "Masternodes in the network, this one included.", MetricType::Gauge, {},
               figure(&LedgerFigures::masternodes));
  host.observe("quorum", "Votes that finalize a transaction (2/3 of the masternodes, plus one).", MetricType::Gauge,
               {}, figure(&LedgerFigures::quorum));

  host.observe("engine_batches_total", "Batches of ledger changes committed to SQLite.", MetricType::Counter, {},
               [&engine] { return static_cast<double>(engine.stats().batches); });
  host.observe("engine_commands_total", "Ledger commands applied.", MetricType::Counter, {},
               [&engine] { return static_cast<double>(engine.stats().commands); });
  host.observe("engine_queued", "Ledger commands waiting for the engine.", MetricType::Gauge, {},
               [&engine] { return static_cast<double>(engine.stats().queued); });
  host.observe("commit_seconds_total", "Time spent saving batches.", MetricType::Counter, {},
               [&engine] { return engine.stats().commit_ms_total / 1000.0; });

  if (!network) return;
  auto peers = std::make_shared<plugin::ScrapeSnapshot<Json>>([network] { return network->status(); });
  for (const auto& id : peer_ids) {
    const auto read = [peers, id](const char* pointer) {
      return [peers, id, pointer] { return number(peerStatus(peers->get(), id)[Json::json_pointer(pointer)]); };
    };
    host.observe("peer_connected", "1 while the link to the peer is open, by direction.", MetricType::Gauge,
                 {{"peer", id}, {"direction", "outbound"}}, read("/outbound/connected"));
    host.observe("peer_connected", "1 while the link to the peer is open, by direction.", MetricType::Gauge,
                 {{"peer", id}, {"direction", "inbound"}}, read("/inbound/connected"));
    host.observe("peer_reconnects_total", "Times the link to the peer was dialled again.", MetricType::Counter,
                 {{"peer", id}}, read("/outbound/reconnects"));
    host.observe("peer_queued", "Messages waiting to be sent to the peer.", MetricType::Gauge, {{"peer", id}},
                 read("/outbound/queued"));
    host.observe("peer_dropped_total", "Messages to the peer dropped because its queue was full.",
                 MetricType::Counter, {{"peer", id}}, read("/outbound/dropped"));
  }
}

void reportHealth(plugin::Host& host, const Engine& engine, const P2pNetwork* network) {
  const auto [total, quorum] = engine.read([](const Ledger& l) { return std::pair{l.totalNodes(), l.quorumSize()}; });
  std::uint32_t reachable = 1;  // this masternode
  if (network) {
    for (const auto& peer : network->status()) {
      if (peer["outbound"]["connected"] == true) ++reachable;
    }
  }
  if (reachable >= quorum) {
    host.reportHealth(plugin::HealthState::Ok, "");
  } else {
    host.reportHealth(plugin::HealthState::Degraded,
                      std::to_string(reachable) + " of " + std::to_string(total) +
                          " masternodes reachable; finalizing a transaction needs " + std::to_string(quorum));
  }
}

}  // namespace eventnode::plugins::utxo
