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
#include "utxo_settings.hpp"
#include "wallet_hub.hpp"

#include <eventnode/plugin/export.hpp>

#include <filesystem>
#include <stdexcept>

namespace eventnode::plugins::utxo {

class UtxoPlugin final : public plugin::Plugin {
 public:
  plugin::PluginInfo info() const override {
    return {.name = "utxo",
            .version = "1.0.0",
            .description = "TIME Coin UTXO state protocol: wallet notifications, masternode votes, instant finality"};
  }

  plugin::ConfigSchema configSchema() const override { return settingsBinding().schema(); }

  void configure(const YAML::Node& config) override { config_ = readConfig(config); }

  void start(plugin::Host& host) override {
    logger_ = host.logger();
    masternode_id_ = config_.settings.masternode_id.empty() ? host.nodeId() : config_.settings.masternode_id;
    const std::string prefix(config_.mainnet() ? kMainnetPrefix : kTestnetPrefix);
    if (config_.masternodes.empty())
      config_.masternodes.push_back({masternode_id_, config_.listen.host, config_.listen.port});

    LedgerConfig ledger_config = config_.settings.ledger;
    ledger_config.self_id = masternode_id_;
    ledger_config.address_prefix = prefix;
    P2pConfig p2p = config_.settings.p2p.link;
    p2p.network = config_.mainnet() ? Network::Mainnet : Network::Testnet;
    p2p.self_id = masternode_id_;
    p2p.listen_host = config_.listen.host;
    p2p.listen_port = config_.listen.port;
    for (const auto& masternode : config_.masternodes) {
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
    if (!config_.public_keys.empty()) {
      p2p.authenticator = makeAuthenticator(host, p2p.network);
    } else if (!p2p.peers.empty()) {
      logger_->warn(
          "p2p peers are not authenticated: anyone who reaches p2p.listen can speak as a masternode; "
          "give every masternode a public_key (docs/utxo.md \"Authenticated masternodes\")");
    }

    hub_ = std::make_unique<WalletHub>(
        prefix, config_.settings.max_addresses_per_connection,
        [&host](plugin::ConnectionId id, std::string_view text) { return host.sendToConnection(id, text); },
        [&host](const std::vector<plugin::ConnectionId>& ids, std::string_view text) {
          host.sendToConnections(ids, text);
        });
    engine_ =
        std::make_unique<Engine>(std::make_unique<Ledger>(ledger_config, logger_),
                                 std::make_unique<LedgerStore>(host.dataDir() / "utxo.sqlite", config_.fullSync()),
                                 logger_, [this](const Effects& effects) { deliver(effects); });
    peers_ = std::make_unique<PeerProtocol>(*engine_, prefix, config_.settings.ledger.verify_signatures,
                                            config_.settings.limits, logger_);
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

    host.addWebSocketEndpoint(
        {.path = "/ws/utxo-protocol",
         .access = config_.walletAuthenticated() ? plugin::RouteAccess::Authenticated : plugin::RouteAccess::Public,
         .on_open = [this](plugin::ConnectionId id, const plugin::Identity&) { hub_->onOpen(id); },
         .on_message = [this](plugin::ConnectionId id, std::string_view text) { hub_->onMessage(id, text); },
         .on_close = [this](plugin::ConnectionId id) { hub_->onClose(id); }});
    addHttpRoutes(host, *engine_,
                  {.address_prefix = prefix,
                   .verify_signatures = config_.settings.ledger.verify_signatures,
                   .limits = config_.settings.limits,
                   .checks_per_second = config_.settings.signature_checks_per_second,
                   .checks_burst = config_.settings.signature_checks_burst},
                  [this] { return network_ ? network_->status() : plugin::Json::array(); });
    expiry_timer_ = host.scheduleEvery(std::chrono::seconds(1), [this] {
      engine_->postDetached(
          [](Ledger& ledger, Effects& effects, std::int64_t now) { ledger.expireLocks(now, effects); });
    });
    std::vector<std::string> peer_ids;
    for (const auto& peer : p2p.peers) peer_ids.push_back(peer.id);
    registerMetrics(host, *engine_, network_.get(), peer_ids);
    health_timer_ =
        host.scheduleEvery(std::chrono::seconds(2), [this, &host] { reportHealth(host, *engine_, network_.get()); });
    host_ = &host;
    const auto [utxos, transactions] = engine_->read([](const Ledger& ledger) {
      return std::pair{ledger.utxosCount(), ledger.transactionCount()};
    });
    logger_->info("ready masternode={} network={} masternodes={} quorum={} p2p={} utxos={} transactions={}",
                  masternode_id_, config_.mainnet() ? "mainnet" : "testnet", config_.masternodes.size(),
                  quorum(static_cast<std::uint32_t>(config_.masternodes.size())),
                  network_ ? config_.listen.host + ":" + std::to_string(network_->listenPort()) : std::string("none"),
                  utxos, transactions);
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
    std::filesystem::path file(config_.settings.p2p.private_key_file);
    if (file.is_relative()) file = host.dataDir() / file;
    auto key = NodeKey::fromPemFile(file);
    const auto own = toHex(key.publicKey());
    const auto& listed = config_.public_keys.at(masternode_id_);
    if (key.publicKey() != listed) {
      throw std::invalid_argument("p2p.private_key_file " + file.string() + " holds the key " + own +
                                  ", but masternodes lists " + toHex(listed) + " for " + masternode_id_);
    }
    auto peer_keys = config_.public_keys;
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

  UtxoConfig config_;
  std::string masternode_id_;  ///< config_'s, or node.id when it names none; set in start()

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
