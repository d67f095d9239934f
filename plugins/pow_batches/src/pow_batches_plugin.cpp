// The pow_batches plugin: PoW batch intake from ML nodes over WebSocket (one
// worker per node) and HTTP, recorded exactly once in SQLite, and forwarded
// through a durable outbox to the configured recorders.
#include "batch_message.hpp"
#include "batch_store.hpp"
#include "batch_writer.hpp"
#include "ml_node_worker.hpp"
#include "outbox_dispatcher.hpp"
#include "pow_metrics.hpp"
#include "pow_settings.hpp"

#include <eventnode/plugin/export.hpp>

#include <map>
#include <memory>

namespace eventnode::plugins::pow_batches {
namespace {

using plugin::HttpRequest;
using plugin::HttpResponse;
using plugin::Json;

/// How often the ML nodes' connections are looked at for /healthz.
constexpr std::chrono::seconds kHealthInterval{2};

}  // namespace

class PowBatchesPlugin final : public plugin::Plugin {
 public:
  plugin::PluginInfo info() const override {
    return {.name = "pow_batches",
            .version = "1.0.0",
            .description = "PoW batch intake from ML nodes over WebSocket and HTTP, recorded exactly once"};
  }

  plugin::ConfigSchema configSchema() const override { return settingsBinding().schema(); }

  void configure(const YAML::Node& config) override { settings_ = readSettings(config); }

  void start(plugin::Host& host) override {
    host_ = &host;
    logger_ = host.logger();
    // The batches are the operators' data: admins read pow.generated and pow.validated, not every user.
    host.addTopicRule(
        {.pattern = "pow.*", .access = plugin::TopicAccess::Admin, .history_size = 1000, .history_ttl_seconds = 600});
    std::vector<std::string> recorder_names;
    for (const auto& recorder : settings_.recorders) recorder_names.push_back(recorder.name);
    store_ = std::make_unique<BatchStore>(host.dataDir() / "pow_batches.sqlite", recorder_names);
    for (std::size_t i = 0; i < settings_.recorders.size(); ++i)
      dispatchers_.push_back(std::make_unique<OutboxDispatcher>(settings_.recorders[i], i, *store_, host));
    writer_ = std::make_unique<BatchWriter>(*store_, nullptr, [this](const auto& batches) {
      for (auto& dispatcher : dispatchers_) dispatcher->offer(batches);
    });
    for (auto& dispatcher : dispatchers_) dispatcher->start();
    for (const auto& node : settings_.nodes) {
      auto worker = std::make_unique<MlNodeWorker>(node, settings_.timing, *writer_, logger_);
      by_num_[node.node_num] = worker.get();
      workers_[node.id] = std::move(worker);
    }
    addRoutes(host);
    registerMetrics(host, workers_);
    for (const auto& node : settings_.nodes) {
      if (node.autostart) workers_[node.id]->start();
    }
    health_timer_ = host.scheduleEvery(kHealthInterval, [this, &host] { reportHealth(host, workers_); });
    logger_->info("ready nodes={} recorders={} batches_on_record={}", settings_.nodes.size(),
                  settings_.recorders.size(), store_->batchCount());
  }

  void stop() override {
    if (health_timer_) host_->cancelTimer(health_timer_);
    for (auto& [id, worker] : workers_) worker->stop();
    if (writer_) writer_->stop();
    for (auto& dispatcher : dispatchers_) dispatcher->stop();
  }

 private:
  void addRoutes(plugin::Host& host) {
    for (const char* prefix : {"/v1/poc-batches/", "/mlnode/v1/poc-batches/"}) {
      for (const auto kind : {BatchKind::Generated, BatchKind::Validated}) {
        host.addHttpRoute({"POST", std::string(prefix) + kindName(kind), plugin::RouteAccess::Public,
                           [this, kind](const HttpRequest& request) { return receiveOverHttp(kind, request); }});
      }
    }
    host.addHttpRoute({"GET", "/api/pow/nodes", plugin::RouteAccess::Admin, [this](const HttpRequest&) {
                         Json nodes = Json::array();
                         for (const auto& node : settings_.nodes) nodes.push_back(workers_.at(node.id)->status());
                         return HttpResponse::json(200, {{"nodes", nodes}});
                       }});
    for (const char* action : {"start", "stop"}) {
      const bool starting = std::string(action) == "start";
      host.addHttpRoute(
          {"POST", std::string("/api/pow/nodes/{id}/") + action, plugin::RouteAccess::Admin,
           [this, starting](const HttpRequest& request) {
             const auto it = workers_.find(request.path_params.at("id"));
             if (it == workers_.end()) {
               return HttpResponse::error(404, "unknown_node", "no ML node '" + request.path_params.at("id") + "'");
             }
             if (starting)
               it->second->start();
             else
               it->second->stop();
             return HttpResponse::json(200, {{"id", it->first}, {"state", it->second->status()["state"]}});
           }});
    }
  }

  HttpResponse receiveOverHttp(BatchKind kind, const HttpRequest& request) {
    if (auto refusal = plugin::refuseNonJsonBody(request)) return *refusal;
    auto parsed = parseBatchBody(kind, request.body, settings_.timing.max_batch_length);
    if (auto* error = std::get_if<ParseError>(&parsed))
      return HttpResponse::error(400, error->bad_json ? "bad_json" : "invalid_batch", error->message);
    auto& batch = std::get<Batch>(parsed);
    const auto worker = by_num_.find(batch.node_num);
    if (worker == by_num_.end()) {
      return HttpResponse::error(
          400, "unknown_node",
          "batch.node_id " + std::to_string(batch.node_num) + " is not the node_num of a configured ML node");
    }
    const auto& node = worker->second->config().id;
    try {
      const auto result = writer_->submit({std::move(batch), node, "http"}).get();
      worker->second->countHttpBatch();
      return HttpResponse::json(
          200, {{"status", "recorded"}, {"batch_id", result.batch_id}, {"duplicate", result.duplicate}});
    } catch (const std::exception& e) {
      logger_->error("cannot record batch node={} error=\"{}\"", node, e.what());
      return HttpResponse::error(503, "storage_unavailable", "the batch could not be recorded; retry");
    }
  }

  PowSettings settings_;
  plugin::Host* host_ = nullptr;
  plugin::TimerId health_timer_ = 0;
  std::shared_ptr<spdlog::logger> logger_;
  // Destroyed in reverse: workers (which submit to the writer) go first.
  std::unique_ptr<BatchStore> store_;
  std::vector<std::unique_ptr<OutboxDispatcher>> dispatchers_;
  std::unique_ptr<BatchWriter> writer_;
  std::map<std::string, std::unique_ptr<MlNodeWorker>> workers_;
  std::map<std::uint64_t, MlNodeWorker*> by_num_;
};

}  // namespace eventnode::plugins::pow_batches

EVENTNODE_PLUGIN(eventnode::plugins::pow_batches::PowBatchesPlugin)
