// The pow_batches plugin: PoW batch intake from ML nodes over WebSocket (one
// worker per node) and HTTP, recorded exactly once in SQLite, and forwarded
// through a durable outbox to the configured recorders.
#include "batch_message.hpp"
#include "batch_store.hpp"
#include "batch_writer.hpp"
#include "ml_node_worker.hpp"
#include "outbox_dispatcher.hpp"
#include "pow_metrics.hpp"

#include <eventnode/plugin/export.hpp>

#include <map>
#include <memory>
#include <set>
#include <stdexcept>

namespace eventnode::plugins::pow_batches {
namespace {

using plugin::ConfigField;
using plugin::FieldType;
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

  plugin::ConfigSchema configSchema() const override {
    return {
        {.name = "nodes",
         .type = FieldType::List,
         .description = "the ML nodes to take batches from",
         .item_type = FieldType::Map,
         .fields = {{.name = "id", .description = "name of the ML node, used in the admin API", .required = true},
                    {.name = "node_num",
                     .type = FieldType::Integer,
                     .description = "the node_id its batches carry",
                     .required = true,
                     .minimum = 0},
                    {.name = "url",
                     .description = "base URL, e.g. http://10.0.0.5:8080 (the socket is /api/v1/pow/ws)",
                     .required = true},
                    {.name = "autostart",
                     .type = FieldType::Boolean,
                     .description = "start intake when the node starts",
                     .default_value = YAML::Node(true)}}},
        {.name = "max_batch_length",
         .type = FieldType::Integer,
         .description = "most entries in nonces, dist, received_dist",
         .default_value = YAML::Node(100000),
         .minimum = 1},
        {.name = "reconnect_delay_ms",
         .type = FieldType::Integer,
         .description = "wait before redialling",
         .default_value = YAML::Node(3000),
         .minimum = 0},
        {.name = "reconnect_jitter_ms",
         .type = FieldType::Integer,
         .description = "plus a uniform random 0..this",
         .default_value = YAML::Node(2000),
         .minimum = 0},
        {.name = "dial_timeout_ms",
         .type = FieldType::Integer,
         .description = "connect and handshake timeout",
         .default_value = YAML::Node(10000),
         .minimum = 100},
        {.name = "ping_interval_seconds",
         .type = FieldType::Integer,
         .description = "keepalive ping interval",
         .default_value = YAML::Node(30),
         .minimum = 1},
        {.name = "silence_timeout_seconds",
         .type = FieldType::Integer,
         .description = "a connection silent this long is dropped and redialled",
         .default_value = YAML::Node(60),
         .minimum = 1},
        {.name = "max_message_bytes",
         .type = FieldType::Integer,
         .description = "largest message from an ML node",
         .default_value = YAML::Node(64 * 1024 * 1024),
         .minimum = 1024},
        {.name = "recorders",
         .type = FieldType::List,
         .description = "where recorded batches go, each through the durable outbox",
         .item_type = FieldType::Map,
         .fields = {{.name = "name", .description = "names the recorder's outbox", .required = true},
                    {.name = "type",
                     .description = "http: POST to url; topic: publish on pow.generated/pow.validated",
                     .required = true,
                     .allowed = {"http", "topic"}},
                    {.name = "url",
                     .description = "http: the URL batches are POSTed to",
                     .default_value = YAML::Node("")},
                    {.name = "timeout_ms",
                     .type = FieldType::Integer,
                     .description = "http: request timeout",
                     .default_value = YAML::Node(5000),
                     .minimum = 100},
                    {.name = "max_backoff_ms",
                     .type = FieldType::Integer,
                     .description = "http: longest wait between retries",
                     .default_value = YAML::Node(60000),
                     .minimum = 100}}},
    };
  }

  void configure(const YAML::Node& config) override {
    timing_.max_batch_length = config["max_batch_length"].as<std::size_t>();
    timing_.reconnect_delay = std::chrono::milliseconds(config["reconnect_delay_ms"].as<long long>());
    timing_.reconnect_jitter = std::chrono::milliseconds(config["reconnect_jitter_ms"].as<long long>());
    timing_.dial_timeout = std::chrono::milliseconds(config["dial_timeout_ms"].as<long long>());
    timing_.ping_interval = std::chrono::seconds(config["ping_interval_seconds"].as<long long>());
    timing_.silence_timeout = std::chrono::seconds(config["silence_timeout_seconds"].as<long long>());
    timing_.max_message_bytes = config["max_message_bytes"].as<std::size_t>();
    std::set<std::string> ids;
    std::set<std::uint64_t> nums;
    const auto& node_entries = config["nodes"];
    for (std::size_t i = 0; i < node_entries.size(); ++i) {
      const auto node = node_entries[i];
      const auto at = "nodes[" + std::to_string(i) + "]";
      MlNodeConfig entry{node["id"].as<std::string>(), node["node_num"].as<std::uint64_t>(),
                         node["url"].as<std::string>(), node["autostart"].as<bool>()};
      if (!ids.insert(entry.id).second) {
        throw plugin::ConfigError(at + ".id", "ML node id '" + entry.id + "' is listed twice");
      }
      if (!nums.insert(entry.node_num).second) {
        throw plugin::ConfigError(at + ".node_num", "node_num " + std::to_string(entry.node_num) + " is listed twice");
      }
      if (entry.url.rfind("http://", 0) != 0 && entry.url.rfind("https://", 0) != 0) {
        throw plugin::ConfigError(at + ".url", "the url of '" + entry.id + "' must start with http:// or https://");
      }
      nodes_.push_back(std::move(entry));
    }
    std::set<std::string> names;
    const auto& recorder_entries = config["recorders"];
    for (std::size_t i = 0; i < recorder_entries.size(); ++i) {
      const auto recorder = recorder_entries[i];
      const auto at = "recorders[" + std::to_string(i) + "]";
      RecorderConfig entry{recorder["name"].as<std::string>(), recorder["type"].as<std::string>(),
                           recorder["url"].as<std::string>(),
                           std::chrono::milliseconds(recorder["timeout_ms"].as<long long>()),
                           std::chrono::milliseconds(recorder["max_backoff_ms"].as<long long>())};
      if (!names.insert(entry.name).second) {
        throw plugin::ConfigError(at + ".name", "recorder name '" + entry.name + "' is listed twice");
      }
      if (entry.type == "http" && entry.url.rfind("http://", 0) != 0) {
        throw plugin::ConfigError(at + ".url", "recorder '" + entry.name + "' of type http needs an http:// url");
      }
      recorders_.push_back(std::move(entry));
    }
  }

  void start(plugin::Host& host) override {
    host_ = &host;
    logger_ = host.logger();
    std::vector<std::string> recorder_names;
    for (const auto& recorder : recorders_) recorder_names.push_back(recorder.name);
    store_ = std::make_unique<BatchStore>(host.dataDir() / "pow_batches.sqlite", recorder_names);
    for (std::size_t i = 0; i < recorders_.size(); ++i)
      dispatchers_.push_back(std::make_unique<OutboxDispatcher>(recorders_[i], i, *store_, host));
    writer_ = std::make_unique<BatchWriter>(*store_, nullptr, [this](const auto& batches) {
      for (auto& dispatcher : dispatchers_) dispatcher->offer(batches);
    });
    for (auto& dispatcher : dispatchers_) dispatcher->start();
    for (const auto& node : nodes_) {
      auto worker = std::make_unique<MlNodeWorker>(node, timing_, *writer_, logger_);
      by_num_[node.node_num] = worker.get();
      workers_[node.id] = std::move(worker);
    }
    addRoutes(host);
    registerMetrics(host, workers_);
    for (const auto& node : nodes_) {
      if (node.autostart) workers_[node.id]->start();
    }
    health_timer_ = host.scheduleEvery(kHealthInterval, [this, &host] { reportHealth(host, workers_); });
    logger_->info("ready nodes={} recorders={} batches_on_record={}", nodes_.size(), recorders_.size(),
                  store_->batchCount());
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
                         for (const auto& node : nodes_) nodes.push_back(workers_.at(node.id)->status());
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
    auto parsed = parseBatchBody(kind, request.body, timing_.max_batch_length);
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

  IntakeTiming timing_;
  std::vector<MlNodeConfig> nodes_;
  std::vector<RecorderConfig> recorders_;
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
