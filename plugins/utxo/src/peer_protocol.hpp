#pragma once
/// What a masternode does with the messages its peers send: transactions and
/// votes go to the engine, state queries are answered from the ledger, and
/// peers' UTXOSubscribe registrations get UTXOStateNotification messages for
/// every state change of the outpoints and addresses they named.
#include "engine.hpp"
#include "p2p_network.hpp"

#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

namespace eventnode::plugins::utxo {

class PeerProtocol {
 public:
  /// `verify_signatures`: a broadcast transaction's input signatures are
  /// checked on the peer's reading thread, after its counts (`limits`) and the
  /// ledger's look-up of its inputs; one that fails is refused and logged.
  PeerProtocol(Engine& engine, std::string address_prefix, bool verify_signatures, TransactionLimits limits,
               std::shared_ptr<spdlog::logger> logger);

  /// The P2pMessageHandler: called on a peer's reading thread; never waits for
  /// the engine's queue (reads of the ledger wait for a batch commit at most).
  void onMessage(const std::string& peer_id, const plugin::Json& message, const P2pReply& reply);
  /// Sends UTXOStateNotification to the peers subscribed to these changes (engine thread).
  void notify(const std::vector<StateChange>& changes);

 private:
  struct RemoteSubscription {
    std::string peer_id;
    std::set<OutPoint> outpoints;
    std::set<std::string> addresses;
    P2pReply reply;
  };
  void handle(const std::string& peer_id, const std::string& kind, const plugin::Json& body, const P2pReply& reply);

  Engine& engine_;
  const std::string prefix_;
  const bool verify_signatures_;
  const TransactionLimits limits_;
  std::shared_ptr<spdlog::logger> logger_;
  std::mutex mutex_;
  std::unordered_map<std::string, RemoteSubscription> subscriptions_;  ///< by subscriber_id
};

}  // namespace eventnode::plugins::utxo
