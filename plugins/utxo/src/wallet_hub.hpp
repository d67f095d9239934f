#pragma once
/// The wallets' side of /ws/utxo-protocol: which connection watches which
/// address, the Subscribe/Unsubscribe/Ping dialect, and delivery of ledger
/// messages to the connections watching any of their addresses (each
/// connection gets a message once, however many of its addresses it names).
/// Thread-safe: callbacks come from the core's I/O threads, delivery from the engine.
#include "ledger.hpp"

#include <eventnode/plugin/websocket.hpp>

#include <functional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace eventnode::plugins::utxo {

class WalletHub {
 public:
  using Send = std::function<plugin::SendStatus(plugin::ConnectionId, std::string_view)>;
  /// One message to many connections, framed once (Host::sendToConnections).
  using SendMany = std::function<void(const std::vector<plugin::ConnectionId>&, std::string_view)>;

  WalletHub(std::string address_prefix, std::size_t max_addresses_per_connection, Send send, SendMany send_many);

  void onOpen(plugin::ConnectionId connection);
  /// Answers every message: SubscriptionConfirmed, Pong, or Error naming what was wrong.
  void onMessage(plugin::ConnectionId connection, std::string_view text);
  void onClose(plugin::ConnectionId connection);

  /// Sends each message to every connection watching one of its addresses.
  void deliver(const std::vector<WalletMessage>& messages);

  std::size_t connectionCount() const;

 private:
  void sendError(plugin::ConnectionId connection, const std::string& message);

  const std::string prefix_;
  const std::size_t max_addresses_;
  Send send_;
  SendMany send_many_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, std::unordered_set<plugin::ConnectionId>> watchers_;       ///< by address
  std::unordered_map<plugin::ConnectionId, std::unordered_set<std::string>> subscriptions_;  ///< by connection
};

}  // namespace eventnode::plugins::utxo
