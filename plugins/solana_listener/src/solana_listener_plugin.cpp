// The solana_listener plugin: Solana program logs through PubSub, made
// reliable with reconnect, backfill over RPC, dedup and a stored cursor, and
// published on the bus (solana:program:<id>, solana:tx:<signature>).
#include "listener.hpp"
#include "listener_metrics.hpp"
#include "spl_token.hpp"

#include <eventnode/plugin/config_binding.hpp>
#include <eventnode/plugin/export.hpp>

#include <set>
#include <stdexcept>

namespace eventnode::plugins::solana_listener {
namespace {

/// How often the PubSub connection is looked at for /healthz.
constexpr std::chrono::seconds kHealthInterval{2};

using plugin::Json;

/// A Solana public key: base58 of 32 bytes. Throws std::invalid_argument naming `what`.
void requirePublicKey(const std::string& key, const std::string& what) {
  const auto bytes = base58Decode(key, 64);
  if (!bytes || bytes->size() != 32) throw std::invalid_argument(what + " '" + key + "' is not a base58 public key");
}

/// One entry of `programs`.
struct ProgramSettings {
  std::string id;
  std::vector<std::string> events;  ///< Anchor event names
};

/// What node.yaml configures: the listener's own config, and the programs with their events.
struct Settings {
  ListenerConfig listener;
  std::vector<ProgramSettings> programs;
};

/// Every key, once: its type and default come from ListenerConfig and PubSubConfig.
plugin::ConfigBinding<Settings> binding() {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  const auto listener = [](auto member) { return [member](Settings& s) -> auto& { return s.listener.*member; }; };
  const auto pubsub = [](auto member) { return [member](Settings& s) -> auto& { return s.listener.pubsub.*member; }; };
  plugin::ConfigBinding<ProgramSettings> program;
  program.field("id", &ProgramSettings::id, "the program id (base58)").required();
  program.field("events", &ProgramSettings::events, "Anchor event names to recognise in `Program data:`");

  plugin::ConfigBinding<Settings> b;
  b.field("rpc_url", listener(&ListenerConfig::rpc_url),
          "Solana JSON-RPC over HTTP(S), for backfill and signature statuses");
  b.field("ws_url", pubsub(&PubSubConfig::url), "Solana PubSub over WebSocket (ws:// or wss://)");
  b.field("commitment", listener(&ListenerConfig::commitment), "commitment of subscriptions and RPC reads")
      .allowed({"processed", "confirmed", "finalized"});
  b.list("programs", &Settings::programs, "the programs to follow, one logsSubscribe each", std::move(program));
  b.field("accounts", listener(&ListenerConfig::accounts),
          "accounts to follow with accountSubscribe (events on solana:account:<key>)");
  b.duration<seconds>("reconcile_interval_seconds", listener(&ListenerConfig::reconcile_interval),
                      "walk getSignaturesForAddress from the cursor this often")
      .minimum(1);
  b.field("max_backfill", listener(&ListenerConfig::max_backfill), "most transactions one walk publishes per program")
      .minimum(1);
  b.duration<milliseconds>("rpc_timeout_ms", listener(&ListenerConfig::rpc_timeout), "timeout of one RPC call")
      .minimum(100);
  b.duration<seconds>("ping_interval_seconds", pubsub(&PubSubConfig::ping_interval),
                      "WebSocket ping on the PubSub socket this often")
      .minimum(1);
  b.duration<seconds>("pong_timeout_seconds", pubsub(&PubSubConfig::pong_timeout),
                      "no pong this long after a ping: reconnect")
      .minimum(1);
  b.duration<milliseconds>("reconnect_min_ms", pubsub(&PubSubConfig::backoff_min),
                           "first redial delay; it doubles up to reconnect_max_ms, with full jitter")
      .minimum(10);
  b.duration<milliseconds>("reconnect_max_ms", pubsub(&PubSubConfig::backoff_max), "longest redial delay")
      .minimum(10);
  b.field("dedup_capacity", listener(&ListenerConfig::dedup_capacity), "signatures remembered to drop duplicates")
      .minimum(1000);
  b.duration<seconds>("watch_timeout_seconds", listener(&ListenerConfig::watch_timeout),
                      "a watched signature not landed by then is reported expired")
      .minimum(1);
  b.field("max_message_bytes", pubsub(&PubSubConfig::max_message_bytes),
          "largest PubSub message; a larger one drops the socket")
      .minimum(1024);
  b.field("tls_ca_file", listener(&ListenerConfig::tls_ca_file),
          "PEM file of certificate authorities trusted for https:// and wss:// besides the system's (a private RPC "
          "node's own CA); empty: the system's only");
  return b;
}

}  // namespace

class SolanaListenerPlugin final : public plugin::Plugin {
 public:
  plugin::PluginInfo info() const override {
    return {.name = "solana_listener",
            .version = "1.0.0",
            .description = "Solana program logs through PubSub with reconnect, backfill and dedup"};
  }

  plugin::ConfigSchema configSchema() const override { return binding().schema(); }

  void configure(const YAML::Node& yaml) override {
    auto settings = binding().read(yaml);
    config_ = std::move(settings.listener);
    plugin::atKey("rpc_url", [&] { return parseTarget(config_.rpc_url, "rpc_url"); });
    plugin::atKey("ws_url", [&] { return parseTarget(config_.pubsub.url, "ws_url"); });
    std::set<std::string> seen;
    for (std::size_t i = 0; i < settings.programs.size(); ++i) {
      const auto& program = settings.programs[i];
      const auto at = "programs[" + std::to_string(i) + "]";
      plugin::atKey(at + ".id", [&] { requirePublicKey(program.id, "program id"); });
      if (!seen.insert(program.id).second) {
        throw plugin::ConfigError(at + ".id", "program '" + program.id + "' is listed twice");
      }
      config_.programs.push_back(program.id);
      for (const auto& name : program.events) events_.add(program.id, name);
    }
    for (std::size_t i = 0; i < config_.accounts.size(); ++i) {
      plugin::atKey("accounts[" + std::to_string(i) + "]", [&] { requirePublicKey(config_.accounts[i], "account"); });
    }
    if (config_.pubsub.backoff_max < config_.pubsub.backoff_min) {
      throw plugin::ConfigError("reconnect_max_ms", "reconnect_max_ms must be at least reconnect_min_ms");
    }
    config_.pubsub.tls_ca_file = config_.tls_ca_file;
    // Loaded now, so a missing or unreadable file stops the start with its name.
    if (!config_.tls_ca_file.empty()) tlsClientContext(config_.tls_ca_file);
  }

  void start(plugin::Host& host) override {
    host_ = &host;
    logger_ = host.logger();
    // Program logs and transaction outcomes are public chain data: anyone may follow them (a node.yaml
    // rule for solana:* comes first and can ask for a token instead).
    host.addTopicRule({.pattern = "solana:*",
                       .access = plugin::TopicAccess::Public,
                       .history_size = 1000,
                       .history_ttl_seconds = 600});
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
