// The utxo plugin: TIME Coin UTXO state protocol. Wallets watch addresses on
// /ws/utxo-protocol; masternodes lock inputs, vote over P2P and finalize at
// floor(2n/3)+1 approvals; the ledger lives in SQLite under the data dir.
#include "engine.hpp"
#include "http_api.hpp"
#include "p2p_auth.hpp"
#include "p2p_network.hpp"
#include "peer_protocol.hpp"
#include "signature.hpp"
#include "txid.hpp"
#include "utxo_metrics.hpp"
#include "wallet_hub.hpp"

#include <eventnode/plugin/export.hpp>

#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>

namespace eventnode::plugins::utxo {
namespace {

using plugin::ConfigField;
using plugin::FieldType;

/// Splits "host:port"; throws ConfigError at `key`.
PeerAddress parseHostPort(const std::string& text, const std::string& key) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    throw plugin::ConfigError(key, key + " must be host:port, got '" + text + "'");
  }
  const auto port_text = text.substr(colon + 1);
  if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port_text) > 65535) {
    throw plugin::ConfigError(key, key + " has a bad port in '" + text + "'");
  }
  return {"", text.substr(0, colon), static_cast<std::uint16_t>(std::stoul(port_text))};
}

}  // namespace

class UtxoPlugin final : public plugin::Plugin {
 public:
  plugin::PluginInfo info() const override {
    return {.name = "utxo",
            .version = "1.0.0",
            .description = "TIME Coin UTXO state protocol: wallet notifications, masternode votes, instant finality"};
  }

  plugin::ConfigSchema configSchema() const override {
    return {
        {.name = "network",
         .description = "testnet (TIME0 addresses) or mainnet (TIME1 addresses); also picks the P2P magic bytes",
         .default_value = YAML::Node("testnet"),
         .allowed = {"testnet", "mainnet"}},
        {.name = "masternode_id",
         .description = "this node's id in masternodes; empty: node.id",
         .default_value = YAML::Node("")},
        {.name = "masternodes",
         .type = FieldType::List,
         .description = "every masternode of the network, this one included; n for the quorum. Empty: this node "
                        "alone, a network of one that finalizes on its own vote",
         .default_value = YAML::Node(YAML::NodeType::Sequence),
         .item_type = FieldType::Map,
         .fields = {{.name = "id", .description = "the masternode's id", .required = true},
                    {.name = "address", .description = "its P2P host:port", .required = true},
                    {.name = "public_key",
                     .description = "its Ed25519 P2P key, 64 hex characters; set on every masternode or none: "
                                    "with them, peers must prove who they are in the handshake",
                     .default_value = YAML::Node("")}}},
        {.name = "p2p",
         .type = FieldType::Map,
         .description = "the masternode P2P listener and links",
         .fields = {{.name = "listen",
                     .description = "host:port to accept peers on",
                     .default_value = YAML::Node("0.0.0.0:24100")},
                    {.name = "ping_interval_seconds",
                     .type = FieldType::Integer,
                     .description = "Ping on every link this often; three silent intervals drop it",
                     .default_value = YAML::Node(30),
                     .minimum = 1},
                    {.name = "reconnect_max_ms",
                     .type = FieldType::Integer,
                     .description = "longest wait between redials of a peer",
                     .default_value = YAML::Node(10000),
                     .minimum = 100},
                    {.name = "private_key_file",
                     .description = "this masternode's Ed25519 P2P key (PEM, `openssl genpkey -algorithm ed25519`); "
                                    "needed when masternodes have public keys; relative to <data_dir>/utxo",
                     .default_value = YAML::Node("")}}},
        {.name = "lock_timeout_seconds",
         .type = FieldType::Integer,
         .description = "a transaction without quorum this long is rejected and its inputs unlocked",
         .default_value = YAML::Node(60),
         .minimum = 1},
        {.name = "wallet_access",
         .description = "who may open /ws/utxo-protocol",
         .default_value = YAML::Node("public"),
         .allowed = {"public", "authenticated"}},
        {.name = "max_addresses_per_connection",
         .type = FieldType::Integer,
         .description = "addresses one wallet connection may watch",
         .default_value = YAML::Node(1000),
         .minimum = 1},
        {.name = "verify_signatures",
         .type = FieldType::Boolean,
         .description = "every input must carry a valid Ed25519 signature by the key of the address it spends "
                        "from (docs/utxo.md); off, anyone can spend any output: for test networks only",
         .default_value = YAML::Node(true)},
        {.name = "sync",
         .description = "SQLite synchronous mode: normal survives a killed process, full also a power cut",
         .default_value = YAML::Node("normal"),
         .allowed = {"normal", "full"}},
    };
  }

  void configure(const YAML::Node& config) override {
    mainnet_ = config["network"].as<std::string>() == "mainnet";
    masternode_id_ = config["masternode_id"].as<std::string>();
    std::set<std::string> ids;
    const auto& entries = config["masternodes"];
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const auto entry = entries[i];
      const auto at = "masternodes[" + std::to_string(i) + "]";
      auto peer = parseHostPort(entry["address"].as<std::string>(), at + ".address");
      peer.id = entry["id"].as<std::string>();
      if (peer.id.empty()) throw plugin::ConfigError(at + ".id", "a masternode id is empty");
      if (!ids.insert(peer.id).second) {
        throw plugin::ConfigError(at + ".id", "masternode id '" + peer.id + "' is listed twice");
      }
      const auto key_hex = entry["public_key"].as<std::string>("");
      if (!key_hex.empty()) {
        const auto key = fromHex(key_hex);
        if (!key || key->size() != kPublicKeySize) {
          throw plugin::ConfigError(at + ".public_key", "the public_key of " + peer.id + " must be 64 hex characters");
        }
        public_keys_[peer.id] = std::vector<std::uint8_t>(key->begin(), key->end());
      }
      masternodes_.push_back(std::move(peer));
    }
    if (!public_keys_.empty() && public_keys_.size() != masternodes_.size()) {
      for (std::size_t i = 0; i < masternodes_.size(); ++i) {
        if (!public_keys_.contains(masternodes_[i].id)) {
          throw plugin::ConfigError("masternodes[" + std::to_string(i) + "]",
                                    masternodes_[i].id +
                                        " has no public_key; once one masternode has a key, every one needs one");
        }
      }
    }
    if (!masternode_id_.empty() && !masternodes_.empty() && !ids.contains(masternode_id_)) {
      throw plugin::ConfigError("masternode_id", "masternode_id '" + masternode_id_ + "' is not in masternodes");
    }
    const auto p2p = config["p2p"];
    listen_ = parseHostPort(p2p["listen"].as<std::string>(), "p2p.listen");
    ping_interval_ = std::chrono::seconds(p2p["ping_interval_seconds"].as<long long>());
    reconnect_max_ = std::chrono::milliseconds(p2p["reconnect_max_ms"].as<long long>());
    lock_timeout_seconds_ = config["lock_timeout_seconds"].as<std::int64_t>();
    wallet_authenticated_ = config["wallet_access"].as<std::string>() == "authenticated";
    max_addresses_ = config["max_addresses_per_connection"].as<std::size_t>();
    full_sync_ = config["sync"].as<std::string>() == "full";
    verify_signatures_ = config["verify_signatures"].as<bool>();
    private_key_file_ = p2p["private_key_file"].as<std::string>("");
    if (!public_keys_.empty() && private_key_file_.empty()) {
      throw plugin::ConfigError("p2p.private_key_file", "p2p.private_key_file is needed: the masternodes have public keys");
    }
  }

  void start(plugin::Host& host) override {
    logger_ = host.logger();
    if (masternode_id_.empty()) masternode_id_ = host.nodeId();
    const std::string prefix(mainnet_ ? kMainnetPrefix : kTestnetPrefix);
    if (masternodes_.empty()) masternodes_.push_back({masternode_id_, listen_.host, listen_.port});

    LedgerConfig ledger_config;
    ledger_config.self_id = masternode_id_;
    ledger_config.address_prefix = prefix;
    ledger_config.lock_timeout_seconds = lock_timeout_seconds_;
    ledger_config.verify_signatures = verify_signatures_;
    P2pConfig p2p;
    p2p.network = mainnet_ ? Network::Mainnet : Network::Testnet;
    p2p.self_id = masternode_id_;
    p2p.listen_host = listen_.host;
    p2p.listen_port = listen_.port;
    p2p.ping_interval = ping_interval_;
    p2p.reconnect_max = reconnect_max_;
    for (const auto& masternode : masternodes_) {
      ledger_config.masternodes.push_back(masternode.id);
      if (masternode.id == masternode_id_) {
        p2p.advertised_address = masternode.host + ":" + std::to_string(masternode.port);
      } else {
        p2p.peers.push_back(masternode);
      }
    }
    if (p2p.advertised_address.empty()) {
      throw std::invalid_argument("masternode_id '" + masternode_id_ + "' is not in masternodes");
    }
    if (!public_keys_.empty()) {
      p2p.authenticator = makeAuthenticator(host, p2p.network);
    } else if (!p2p.peers.empty()) {
      logger_->warn(
          "p2p peers are not authenticated: anyone who reaches p2p.listen can speak as a masternode; "
          "give every masternode a public_key (docs/utxo.md \"Authenticated masternodes\")");
    }

    hub_ = std::make_unique<WalletHub>(
        prefix, max_addresses_,
        [&host](plugin::ConnectionId id, std::string_view text) { return host.sendToConnection(id, text); },
        [&host](const std::vector<plugin::ConnectionId>& ids, std::string_view text) {
          host.sendToConnections(ids, text);
        });
    engine_ = std::make_unique<Engine>(std::make_unique<Ledger>(ledger_config, logger_),
                                       std::make_unique<LedgerStore>(host.dataDir() / "utxo.sqlite", full_sync_),
                                       logger_, [this](const Effects& effects) { deliver(effects); });
    peers_ = std::make_unique<PeerProtocol>(*engine_, prefix, verify_signatures_, logger_);
    // A network of one has nobody to talk to: no P2P listener.
    if (!p2p.peers.empty()) {
      // A peer's Ping is answered once what it sent before is committed: the
      // Pong is what lets the peer forget those messages (p2p_network.hpp).
      network_ = std::make_unique<P2pNetwork>(
          p2p, logger_,
          [this](const std::string& peer, const plugin::Json& message, const P2pReply& reply) {
            peers_->onMessage(peer, message, reply);
          },
          [this] { return engine_->waitCommitted(); });
    }
    engine_->start();
    if (network_) {
      network_->start();
      announcePending();
    }

    host.addWebSocketEndpoint({.path = "/ws/utxo-protocol",
                               .access = wallet_authenticated_ ? plugin::RouteAccess::Authenticated
                                                               : plugin::RouteAccess::Public,
                               .on_open = [this](plugin::ConnectionId id, const plugin::Identity&) { hub_->onOpen(id); },
                               .on_message = [this](plugin::ConnectionId id,
                                                    std::string_view text) { hub_->onMessage(id, text); },
                               .on_close = [this](plugin::ConnectionId id) { hub_->onClose(id); }});
    addHttpRoutes(host, *engine_, prefix, verify_signatures_,
                  [this] { return network_ ? network_->status() : plugin::Json::array(); });
    expiry_timer_ = host.scheduleEvery(std::chrono::seconds(1), [this] {
      engine_->postDetached(
          [](Ledger& ledger, Effects& effects, std::int64_t now) { ledger.expireLocks(now, effects); });
    });
    std::vector<std::string> peer_ids;
    for (const auto& peer : p2p.peers) peer_ids.push_back(peer.id);
    registerMetrics(host, *engine_, network_.get(), peer_ids);
    health_timer_ = host.scheduleEvery(std::chrono::seconds(2),
                                       [this, &host] { reportHealth(host, *engine_, network_.get()); });
    host_ = &host;
    const auto [utxos, transactions] = engine_->read([](const Ledger& ledger) {
      return std::pair{ledger.utxosCount(), ledger.transactionCount()};
    });
    logger_->info("ready masternode={} network={} masternodes={} quorum={} p2p={} utxos={} transactions={}",
                  masternode_id_, mainnet_ ? "mainnet" : "testnet", masternodes_.size(),
                  quorum(static_cast<std::uint32_t>(masternodes_.size())),
                  network_ ? listen_.host + ":" + std::to_string(network_->listenPort()) : std::string("none"), utxos,
                  transactions);
  }

  void stop() override {
    if (host_) {
      host_->cancelTimer(expiry_timer_);
      host_->cancelTimer(health_timer_);
    }
    if (network_) network_->stop();
    if (engine_) engine_->stop();
    if (logger_) logger_->info("stopped");
  }

 private:
  // A masternode killed after committing a transaction but before its P2P
  // queues drained would otherwise leave it pending everywhere until the lock
  // timeout: its peers may never have heard of it, nor of this node's vote.
  void announcePending() {
    // Through the queue for the engine's clock; it changes nothing.
    const auto messages = engine_
                              ->post<std::vector<plugin::Json>>([](Ledger& ledger, Effects&, std::int64_t now) {
                                return ledger.pendingAnnouncements(now);
                              })
                              .get();
    network_->broadcast(messages);
    if (!messages.empty()) {
      logger_->info("announced pending transactions to peers again messages={}", messages.size());
    }
  }

  // This node's key must be the one the others know it by, or every peer
  // would refuse it: better said once at start than at every handshake.
  std::shared_ptr<P2pAuthenticator> makeAuthenticator(plugin::Host& host, Network network) {
    std::filesystem::path file(private_key_file_);
    if (file.is_relative()) file = host.dataDir() / file;
    auto key = NodeKey::fromPemFile(file);
    const auto own = toHex(key.publicKey());
    const auto& listed = public_keys_.at(masternode_id_);
    if (key.publicKey() != listed) {
      throw std::invalid_argument("p2p.private_key_file " + file.string() + " holds the key " + own +
                                  ", but masternodes lists " + toHex(listed) + " for " + masternode_id_);
    }
    auto peer_keys = public_keys_;
    peer_keys.erase(masternode_id_);
    logger_->info("p2p peers are authenticated public_key={}", own);
    return std::make_shared<P2pAuthenticator>(network, masternode_id_, std::move(key), std::move(peer_keys));
  }

  // Runs on the engine's thread once a batch is durable.
  void deliver(const Effects& effects) {
    hub_->deliver(effects.wallet);
    if (network_) {
      network_->broadcast(effects.to_peers);
    }
    if (!effects.state_changes.empty()) peers_->notify(effects.state_changes);
  }

  bool mainnet_ = false;
  std::string masternode_id_;
  std::vector<PeerAddress> masternodes_;
  PeerAddress listen_;
  std::chrono::milliseconds ping_interval_{30000};
  std::chrono::milliseconds reconnect_max_{10000};
  std::int64_t lock_timeout_seconds_ = 60;
  bool wallet_authenticated_ = false;
  std::size_t max_addresses_ = 1000;
  bool full_sync_ = false;
  bool verify_signatures_ = true;
  std::map<std::string, std::vector<std::uint8_t>> public_keys_;  ///< by masternode id; empty: no P2P authentication
  std::string private_key_file_;

  std::shared_ptr<spdlog::logger> logger_;
  plugin::Host* host_ = nullptr;
  plugin::TimerId expiry_timer_ = 0;
  plugin::TimerId health_timer_ = 0;
  // Destroyed in reverse: the network (which feeds the engine) goes first.
  std::unique_ptr<WalletHub> hub_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<PeerProtocol> peers_;
  std::unique_ptr<P2pNetwork> network_;
};

}  // namespace eventnode::plugins::utxo

EVENTNODE_PLUGIN(eventnode::plugins::utxo::UtxoPlugin)
