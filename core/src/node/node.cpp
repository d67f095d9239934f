#include "node/node.hpp"

#include "errors.hpp"
#include "gateway/gateway_routes.hpp"
#include "gateway/websocket_upgrade.hpp"

#include "version.hpp"

#include <filesystem>

namespace eventnode::core {
namespace {

const char* healthName(plugin::HealthState state) {
  switch (state) {
    case plugin::HealthState::Ok:
      return "ok";
    case plugin::HealthState::Degraded:
      return "degraded";
    case plugin::HealthState::Failing:
      return "failing";
  }
  return "unknown";
}

}  // namespace

Node::Node(NodeConfig config, LogRegistry& logs)
    : config_(std::move(config)),
      logs_(logs),
      logger_(logs.get("core.node")),
      plugins_(logs.get("core.plugins")),
      auth_(config_.auth),
      gateway_(config_, bus_, scheduler_, logs),
      services_{logs_, bus_, gateway_, router_, scheduler_, metrics_, config_.node.id, config_.node.data_dir} {}

Node::~Node() {
  stop();
}

void Node::start() {
  started_at_ = std::chrono::steady_clock::now();
  logger_->info("starting node_id={} role={} version={} config={}", config_.node.id, config_.node.role, kVersion,
                config_.file.string());
  std::error_code error;
  std::filesystem::create_directories(config_.node.data_dir, error);
  if (error) {
    throw std::runtime_error("cannot create data_dir " + config_.node.data_dir.string() + ": " + error.message());
  }

  std::vector<ConfigProblem> problems;
  plugins_.load(config_, problems);
  if (!problems.empty()) throw ConfigError(config_.file.string(), std::move(problems));

  addCoreRoutes();
  addGatewayRoutes(router_, gateway_, bus_, metrics_);
  gateway_.verifyRefreshesWith([this](const std::string& token, auto* expires_at) { return auth_.verify(token, expires_at); });
  gateway_.start();
  try {
    plugins_.startAll(services_);
  } catch (...) {
    gateway_.stop();
    throw;
  }
  router_.freeze();
  gateway_.freeze();
  const auto server_logger = logs_.get("core.server");
  upgrades_ = std::make_unique<WebSocketUpgrade>(gateway_, auth_, server_logger);
  server_ = std::make_unique<HttpServer>(config_.server, router_, auth_, server_logger,
                                         [this](const plugin::HttpRequest& request) { return upgrades_->decide(request); });
  try {
    server_->start();
  } catch (...) {
    server_.reset();
    gateway_.stop();
    plugins_.stopAll();
    throw;
  }
  addHttpMetrics();
  logger_->info("node ready node_id={} port={}", config_.node.id, server_->port());
}

void Node::stop() {
  if (server_) server_->stop();
  gateway_.stop();  // every client gets 1001 while the plugins still run
  plugins_.stopAll();
  scheduler_.shutdown();
}

void Node::addHttpMetrics() {
  const auto& http = server_->counters();
  const auto read = [](const auto& counter) { return [&counter] { return static_cast<double>(counter.load()); }; };
  metrics_.observe("core", "eventnode_http_connections", "Open HTTP connections (not upgraded to WebSocket).",
                   plugin::MetricType::Gauge, {}, read(http.open_connections));
  metrics_.observe("core", "eventnode_http_requests_total", "Complete HTTP requests read.", plugin::MetricType::Counter,
                   {}, read(http.requests));
  const std::string refused_help = "HTTP connections and requests refused or closed by the server's own limits.";
  metrics_.observe("core", "eventnode_http_refused_total", refused_help, plugin::MetricType::Counter,
                   {{"reason", "busy"}}, read(http.refused_busy));
  metrics_.observe("core", "eventnode_http_refused_total", refused_help, plugin::MetricType::Counter,
                   {{"reason", "too_many_connections"}}, read(http.refused_connections));
  metrics_.observe("core", "eventnode_http_refused_total", refused_help, plugin::MetricType::Counter,
                   {{"reason", "timeout"}}, read(http.timed_out));
  metrics_.observe("core", "eventnode_http_refused_total", refused_help, plugin::MetricType::Counter,
                   {{"reason", "malformed"}}, read(http.malformed));
}

void Node::addCoreRoutes() {
  router_.add({"GET", "/healthz", plugin::RouteAccess::Public,
               [this](const plugin::HttpRequest&) {
                 plugin::Json plugins = plugin::Json::array();
                 // ok: every plugin started and well; degraded (still 200): one works in part;
                 // failing (503): one is not started or says it fails.
                 bool failing = false;
                 bool degraded = false;
                 for (const auto& status : plugins_.status()) {
                   plugin::Json row{{"name", status.name}, {"version", status.version}, {"state", status.state},
                                    {"health", healthName(status.health.state)}};
                   if (!status.health.reason.empty()) row["reason"] = status.health.reason;
                   plugins.push_back(std::move(row));
                   failing = failing || status.state != "started" || status.health.state == plugin::HealthState::Failing;
                   degraded = degraded || status.health.state == plugin::HealthState::Degraded;
                 }
                 // A broker that cannot reach Redis degrades the node; it still serves its own clients.
                 auto broker = gateway_.brokerHealth();
                 degraded = degraded || broker["state"] != "ok";
                 const auto uptime =
                     std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_at_);
                 const char* overall = failing ? "failing" : degraded ? "degraded" : "ok";
                 return plugin::HttpResponse::json(failing ? 503 : 200, {{"status", overall},
                                                                         {"node_id", config_.node.id},
                                                                         {"role", config_.node.role},
                                                                         {"version", kVersion},
                                                                         {"uptime_seconds", uptime.count()},
                                                                         {"broker", broker},
                                                                         {"plugins", plugins}});
               }},
              "core");
}

}  // namespace eventnode::core
