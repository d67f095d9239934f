// The meter plugin: energy meter readings submitted over HTTP, validated,
// stored and announced to their owner; validated energy minted as SPL tokens
// in batches through Solana JSON-RPC (when configured), each mint announced
// to its owner and each batch to the admins.
#include "meter_settings.hpp"
#include "meter_store.hpp"
#include "minter.hpp"
#include "reading_intake.hpp"

#include <eventnode/plugin/export.hpp>

#include <map>
#include <memory>

namespace eventnode::plugins::meter {

using plugin::HttpRequest;
using plugin::HttpResponse;
using plugin::Json;

class MeterPlugin final : public plugin::Plugin {
 public:
  plugin::PluginInfo info() const override {
    return {.name = "meter",
            .version = "1.0.0",
            .description = "energy meter readings, validation, and batch minting of energy tokens on Solana"};
  }

  plugin::ConfigSchema configSchema() const override { return settingsBinding().schema(); }

  void configure(const YAML::Node& config) override { settings_ = readSettings(config); }

  void start(plugin::Host& host) override {
    logger_ = host.logger();
    store_ = std::make_unique<MeterStore>(host.dataDir() / "meter.sqlite");
    if (settings_.mint.enabled) minter_ = std::make_unique<Minter>(settings_.mint, *store_, host);
    intake_ = std::make_unique<ReadingIntake>(settings_, *store_, host, [this] {
      if (minter_) minter_->readingStored();
    });
    // Fallbacks after node.yaml's rules: a user's own events, the admins' topic.
    host.addTopicRule({.pattern = "user:{sub}",
                       .access = plugin::TopicAccess::User,
                       .history_size = 100,
                       .history_ttl_seconds = 3600});
    host.addTopicRule(
        {.pattern = "admins", .access = plugin::TopicAccess::Admin, .history_size = 100, .history_ttl_seconds = 3600});
    using plugin::RouteAccess;
    host.addHttpRoute({"POST", "/api/meters", RouteAccess::Authenticated,
                       stored([this](const HttpRequest& r) { return intake_->registerMeter(r); })});
    host.addHttpRoute({"GET", "/api/meters", RouteAccess::Authenticated,
                       stored([this](const HttpRequest& r) { return intake_->listMeters(r); })});
    host.addHttpRoute({"POST", "/api/meters/submit-reading", RouteAccess::Authenticated,
                       stored([this](const HttpRequest& r) { return intake_->submitReading(r); })});
    host.addHttpRoute({"GET", "/api/meters/status", RouteAccess::Admin,
                       [this](const HttpRequest&) { return HttpResponse::json(200, status()); }});
    // One query per scrape for every state's series, not one per series.
    counts_ = std::make_shared<plugin::ScrapeSnapshot<std::map<std::string, std::int64_t>>>(
        [this] { return store_->readingCounts(); });
    for (const char* state : {"pending", "batched", "minted", "abandoned", "rejected"}) {
      host.observe("readings", "Readings stored, by state (abandoned: their mint failed max_attempts times).",
                   plugin::MetricType::Gauge, {{"state", state}},
                   [counts = counts_, state] { return static_cast<double>(counts->get()[state]); });
    }
    if (minter_) {
      minter_->start();
    } else {
      logger_->info("minting disabled: readings are validated and stored, and stay pending");
    }
    logger_->info("ready meters={} max_kwh={} minting={}", store_->meters("").size(), settings_.max_kwh,
                  settings_.mint.enabled);
  }

  void stop() override {
    if (minter_) minter_->stop();
    if (logger_) logger_->info("stopped");
  }

 private:
  /// A handler whose SQLite write failed (a full disk, an I/O error) answers 503: nothing was
  /// stored and no event went out, so the client may send the same request again.
  plugin::HttpHandler stored(plugin::HttpHandler handler) {
    return [this, handler = std::move(handler)](const HttpRequest& request) {
      try {
        return handler(request);
      } catch (const plugin::sqlite::Error& e) {
        logger_->error("meter storage failed path={} error=\"{}\"", request.path, e.what());
        return HttpResponse::error(503, "storage_unavailable", "the meter database could not be written; retry");
      }
    };
  }

  Json status() {
    Json readings = Json::object();
    for (const auto& [state, count] : store_->readingCounts()) readings[state] = count;
    return {{"readings", readings},
            {"meters", store_->meters("").size()},
            {"minting", minter_ ? minter_->status() : Json{{"enabled", false}}}};
  }

  MeterSettings settings_;
  std::shared_ptr<spdlog::logger> logger_;
  // Destroyed in reverse: the minter and the intake use the store.
  std::unique_ptr<MeterStore> store_;
  std::unique_ptr<Minter> minter_;
  std::unique_ptr<ReadingIntake> intake_;
  std::shared_ptr<plugin::ScrapeSnapshot<std::map<std::string, std::int64_t>>> counts_;
};

}  // namespace eventnode::plugins::meter

EVENTNODE_PLUGIN(eventnode::plugins::meter::MeterPlugin)
