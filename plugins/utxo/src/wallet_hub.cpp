#include "wallet_hub.hpp"

#include <algorithm>
#include <mutex>

namespace eventnode::plugins::utxo {

using plugin::ConnectionId;
using plugin::Json;

WalletHub::WalletHub(std::string address_prefix, std::size_t max_addresses_per_connection, Send send,
                     SendMany send_many)
    : prefix_(std::move(address_prefix)),
      max_addresses_(max_addresses_per_connection),
      send_(std::move(send)),
      send_many_(std::move(send_many)) {}

void WalletHub::onOpen(ConnectionId connection) {
  std::unique_lock lock(mutex_);
  subscriptions_[connection];
}

void WalletHub::onClose(ConnectionId connection) {
  std::unique_lock lock(mutex_);
  auto it = subscriptions_.find(connection);
  if (it == subscriptions_.end()) return;
  for (const auto& address : it->second) {
    auto watcher = watchers_.find(address);
    if (watcher == watchers_.end()) continue;
    watcher->second.erase(connection);
    if (watcher->second.empty()) watchers_.erase(watcher);
  }
  subscriptions_.erase(it);
}

void WalletHub::sendError(ConnectionId connection, const std::string& message) {
  send_(connection, Json{{"type", "Error"}, {"message", message}}.dump());
}

void WalletHub::onMessage(ConnectionId connection, std::string_view text) {
  const auto read = plugin::readJson(text);
  if (!read.ok()) return sendError(connection, "the message is refused: " + read.error);
  const auto& message = read.value;
  if (!message.is_object()) return sendError(connection, "a message must be a JSON object with a \"type\"");
  const auto type = message.find("type");
  if (type == message.end() || !type->is_string()) {
    return sendError(connection, "the message has no \"type\" string");
  }
  const auto& name = type->get_ref<const std::string&>();

  if (name == "Ping") {
    send_(connection, R"({"type":"Pong"})");
    return;
  }
  if (name == "Subscribe") {
    const auto addresses = message.find("addresses");
    if (addresses == message.end() || !addresses->is_array() || addresses->empty()) {
      return sendError(connection, "Subscribe needs \"addresses\": a non-empty array of addresses");
    }
    std::vector<std::string> wanted;
    for (std::size_t i = 0; i < addresses->size(); ++i) {
      const auto& address = (*addresses)[i];
      if (!address.is_string() || !isValidAddress(address.get_ref<const std::string&>(), prefix_)) {
        return sendError(connection, "addresses[" + std::to_string(i) + "] is not a valid address for this network: " +
                                         "it must be " + prefix_ + " followed by 1 to 100 letters and digits");
      }
      wanted.push_back(address.get<std::string>());
    }
    {
      std::unique_lock lock(mutex_);
      auto& mine = subscriptions_[connection];
      std::size_t added = 0;
      for (const auto& address : wanted) added += mine.contains(address) ? 0 : 1;
      if (mine.size() + added > max_addresses_) {
        lock.unlock();
        return sendError(connection, "a connection may watch at most " + std::to_string(max_addresses_) +
                                         " addresses; unsubscribe some first");
      }
      for (const auto& address : wanted) {
        if (mine.insert(address).second) watchers_[address].insert(connection);
      }
    }
    send_(connection, Json{{"type", "SubscriptionConfirmed"}, {"addresses", wanted}}.dump());
    return;
  }
  if (name == "Unsubscribe") {
    const auto address = message.find("address");
    if (address == message.end() || !address->is_string()) {
      return sendError(connection, "Unsubscribe needs \"address\": one address");
    }
    std::unique_lock lock(mutex_);
    auto& mine = subscriptions_[connection];
    if (mine.erase(address->get<std::string>()) == 0) {
      lock.unlock();
      return sendError(connection, "not subscribed to " + address->get<std::string>());
    }
    auto watcher = watchers_.find(address->get<std::string>());
    if (watcher != watchers_.end()) {
      watcher->second.erase(connection);
      if (watcher->second.empty()) watchers_.erase(watcher);
    }
    return;
  }
  sendError(connection, "unknown message type \"" + name + "\"; expected Subscribe, Unsubscribe or Ping");
}

void WalletHub::deliver(const std::vector<WalletMessage>& messages) {
  std::vector<ConnectionId> recipients;
  for (const auto& message : messages) {
    recipients.clear();
    {
      std::shared_lock lock(mutex_);
      for (const auto& address : message.addresses) {
        auto it = watchers_.find(address);
        if (it == watchers_.end()) continue;
        recipients.insert(recipients.end(), it->second.begin(), it->second.end());
      }
    }
    if (message.addresses.size() > 1) {
      std::sort(recipients.begin(), recipients.end());
      recipients.erase(std::unique(recipients.begin(), recipients.end()), recipients.end());
    }
    if (!recipients.empty()) send_many_(recipients, message.text);
  }
}

std::size_t WalletHub::connectionCount() const {
  std::shared_lock lock(mutex_);
  return subscriptions_.size();
}

}  // namespace eventnode::plugins::utxo
