// The solana_listener plugin: Solana program logs through PubSub, made
// reliable with reconnect, backfill over RPC, dedup and a stored cursor, and
// published on the bus (solana:program:<id>, solana:tx:<signature>).
#include "listener.hpp"
#include "listener_metrics.hpp"
#include "spl_token.hpp"

#include <eventnode/plugin/export.hpp>

#include <set>
#include <stdexcept>

namespace eventnode::plugins::solana_listener {
namespace {

/// How often the PubSub connection is looked at for /healthz.
constexpr std::chrono::seconds kHealthInterval{2};

using plugin::ConfigField;
using plugin::FieldType;
using plugin::Json;

/// A Solana public key: base58 of 32 bytes. Throws std::invalid_argument naming `what`.
void requirePublicKey(const std::string& key, const std::string& what) {
  const auto bytes = base58Decode(key, 64);
  if (!bytes || bytes->size() != 32) throw std::invalid_argument(what + " '" + key + "' is not a base58 public key");
}

ConfigField integer(const char* name, const char* description, long long value, double minimum) {
  return {.name = name,
          .type = FieldType::Integer,
          .description = description,
          .default_value = YAML::Node(value),
          .minimum = minimum};
}

}  // namespace

class SolanaListenerPlugin final : public plugin::Plugin {
 public:
  plugin::PluginInfo info() const override {
    return {.name = "solana_listener",
            .version = "1.0.0",
            .description = "Solana program logs through PubSub with reconnect, backfill and dedup"};
  }

  plugin::ConfigSchema configSchema() const override {
    return {
        {.name = "rpc_url",
         .description = "Solana JSON-RPC over HTTP(S), for backfill and signature statuses",
         .default_value = YAML::Node("http://127.0.0.1:8899")},
        {.name = "ws_url",
         .description = "Solana PubSub over WebSocket (ws:// or wss://)",
         .default_value = YAML::Node("ws://127.0.0.1:8900")},
        {.name = "commitment",
         .description = "commitment of subscriptions and RPC reads",
         .default_value = YAML::Node("confirmed"),
         .allowed = {"processed", "confirmed", "finalized"}},
        {.name = "programs",
         .type = FieldType::List,
         .description = "the programs to follow, one logsSubscribe each",
         .default_value = YAML::Node(YAML::NodeType::Sequence),
         .item_type = FieldType::Map,
         .fields = {{.name = "id", .description = "the program id (base58)", .required = true},
                    {.name = "events",
                     .type = FieldType::List,
                     .description = "Anchor event names to recognise in `Program data:`",
                     .default_value = YAML::Node(YAML::NodeType::Sequence)}}},
        {.name = "accounts",
         .type = FieldType::List,
         .description = "accounts to follow with accountSubscribe (events on solana:account:<key>)",
         .default_value = YAML::Node(YAML::NodeType::Sequence)},
        integer("reconcile_interval_seconds", "walk getSignaturesForAddress from the cursor this often", 15, 1),
        integer("max_backfill", "most transactions one walk publishes per program", 10000, 1),
        integer("rpc_timeout_ms", "timeout of one RPC call", 10000, 100),
        integer("ping_interval_seconds", "WebSocket ping on the PubSub socket this often", 30, 1),
        integer("pong_timeout_seconds", "no pong this long after a ping: reconnect", 10, 1),
        integer("reconnect_min_ms", "first redial delay; it doubles up to reconnect_max_ms, with full jitter", 500, 10),
        integer("reconnect_max_ms", "longest redial delay", 30000, 10),
        integer("dedup_capacity", "signatures remembered to drop duplicates", 200000, 1000),
        integer("watch_timeout_seconds", "a watched signature not landed by then is reported expired", 90, 1),
        integer("max_message_bytes", "largest PubSub message; a larger one drops the socket", 8 << 20, 1024),
        {.name = "tls_ca_file",
         .description = "PEM file of certificate authorities trusted for https:// and wss:// besides the "
                        "system's (a private RPC node's own CA); empty: the system's only",
         .default_value = YAML::Node("")},
    };
  }

  void configure(const YAML::Node& config) override {
    config_.rpc_url = config["rpc_url"].as<std::string>();
    config_.pubsub.url = config["ws_url"].as<std::string>();
    plugin::atKey("rpc_url", [&] { return parseTarget(config_.rpc_url, "rpc_url"); });
    plugin::atKey("ws_url", [&] { return parseTarget(config_.pubsub.url, "ws_url"); });
    config_.commitment = config["commitment"].as<std::string>();
    std::set<std::string> seen;
    const auto& programs = config["programs"];
    for (std::size_t i = 0; i < programs.size(); ++i) {
      const auto program = programs[i];
      const auto at = "programs[" + std::to_string(i) + "]";
      const auto id = program["id"].as<std::string>();
      plugin::atKey(at + ".id", [&] { requirePublicKey(id, "program id"); });
      if (!seen.insert(id).second) throw plugin::ConfigError(at + ".id", "program '" + id + "' is listed twice");
      config_.programs.push_back(id);
      for (const auto& name : program["events"]) events_.add(id, name.as<std::string>());
    }
    const auto& accounts = config["accounts"];
    for (std::size_t i = 0; i < accounts.size(); ++i) {
      const auto account = accounts[i].as<std::string>();
      plugin::atKey("accounts[" + std::to_string(i) + "]", [&] { requirePublicKey(account, "account"); });
      config_.accounts.push_back(account);
    }
    config_.reconcile_interval = std::chrono::seconds(config["reconcile_interval_seconds"].as<long long>());
    config_.max_backfill = config["max_backfill"].as<std::size_t>();
    config_.rpc_timeout = std::chrono::milliseconds(config["rpc_timeout_ms"].as<long long>());
    config_.pubsub.ping_interval = std::chrono::seconds(config["ping_interval_seconds"].as<long long>());
    config_.pubsub.pong_timeout = std::chrono::seconds(config["pong_timeout_seconds"].as<long long>());
    config_.pubsub.backoff_min = std::chrono::milliseconds(config["reconnect_min_ms"].as<long long>());
    config_.pubsub.backoff_max = std::chrono::milliseconds(config["reconnect_max_ms"].as<long long>());
    if (config_.pubsub.backoff_max < config_.pubsub.backoff_min) {
      throw plugin::ConfigError("reconnect_max_ms", "reconnect_max_ms must be at least reconnect_min_ms");
    }
    config_.dedup_capacity = config["dedup_capacity"].as<std::size_t>();
    config_.watch_timeout = std::chrono::seconds(config["watch_timeout_seconds"].as<long long>());
    config_.pubsub.max_message_bytes = config["max_message_bytes"].as<std::size_t>();
    config_.tls_ca_file = config["tls_ca_file"].as<std::string>();
    config_.pubsub.tls_ca_file = config_.tls_ca_file;
    // Loaded now, so a missing or unreadable file stops the start with its name.
    if (!config_.tls_ca_file.empty()) tlsClientContext(config_.tls_ca_file);
  }

  void start(plugin::Host& host) override {
    host_ = &host;
    logger_ = host.logger();
    cursors_ = std::make_unique<CursorStore>(host.dataDir() / "cursors.sqlite");
    listener_ = std::make_unique<Listener>(
        config_, events_, *cursors_, logger_,
        [this, &host](const std::string& topic, std::string_view event_text) {
          const auto result = host.publishText(topic, event_text);
          if (!result.accepted()) logger_->warn("event not published topic={} reason=\"{}\"", topic, result.reason);
          return result.accepted();
        });
    // Other plugins ask for a signature's outcome over the bus, never by linking to this one.
    watch_subscription_ = host.subscribe("solana:watch", [this](const std::string&, const Json& data) {
      const auto signature = data.is_object() ? data.value("signature", std::string()) : std::string();
      const auto commitment = data.is_object() ? data.value("commitment", config_.commitment) : config_.commitment;
      const auto bytes = base58Decode(signature, 128);
      if (!bytes || bytes->size() != 64 ||
          (commitment != "processed" && commitment != "confirmed" && commitment != "finalized")) {
        logger_->warn("refused solana:watch request: it needs {{\"signature\": base58 of 64 bytes, \"commitment\": "
                      "processed|confirmed|finalized}}, got {}",
                      data.dump().substr(0, 300));
        return;
      }
      listener_->watchSignature(signature, commitment);
    });
    host.addHttpRoute({"GET", "/api/solana/status", plugin::RouteAccess::Admin, [this](const plugin::HttpRequest&) {
                         return plugin::HttpResponse::json(200, listener_->status());
                       }});
    registerMetrics(host, *listener_, config_.programs);
    listener_->start();
    timer_ = host.scheduleEvery(config_.reconcile_interval, [this] {
      listener_->reconcile();
      listener_->expireWatches();
    });
    health_timer_ = host.scheduleEvery(kHealthInterval, [this, &host] { health_.check(host, *listener_); });
    logger_->info("ready rpc={} ws={} commitment={} programs={} accounts={}", config_.rpc_url, config_.pubsub.url,
                  config_.commitment, config_.programs.size(), config_.accounts.size());
  }

  void stop() override {
    if (host_) {
      host_->cancelTimer(timer_);
      host_->cancelTimer(health_timer_);
      host_->unsubscribe(watch_subscription_);
    }
    if (listener_) listener_->stop();
    if (logger_) logger_->info("stopped");
  }

 private:
  ListenerConfig config_;
  AnchorEventRegistry events_;
  ListenerHealth health_;
  plugin::TimerId health_timer_ = 0;
  plugin::Host* host_ = nullptr;
  std::shared_ptr<spdlog::logger> logger_;
  std::unique_ptr<CursorStore> cursors_;
  std::unique_ptr<Listener> listener_;
  plugin::SubscriptionId watch_subscription_ = 0;
  plugin::TimerId timer_ = 0;
};

}  // namespace eventnode::plugins::solana_listener

EVENTNODE_PLUGIN(eventnode::plugins::solana_listener::SolanaListenerPlugin)
