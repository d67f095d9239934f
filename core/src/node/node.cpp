#include "node/node.hpp"

#include "errors.hpp"
#include "version.hpp"

#include <filesystem>

namespace eventnode::core {

Node::Node(NodeConfig config, LogRegistry& logs)
    : config_(std::move(config)),
      logs_(logs),
      logger_(logs.get("core.node")),
      plugins_(logs.get("core.plugins")),
      auth_(config_.auth),
      services_{logs_, bus_, router_, scheduler_, config_.node.id, config_.node.data_dir} {}

Node::~Node() { stop(); }

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
  plugins_.startAll(services_);
  router_.freeze();
  server_ = std::make_unique<HttpServer>(config_.server, router_, auth_, logs_.get("core.server"));
  try {
    server_->start();
  } catch (...) {
    server_.reset();
    plugins_.stopAll();
    throw;
  }
  logger_->info("node ready node_id={} port={}", config_.node.id, server_->port());
}

void Node::stop() {
  if (server_) server_->stop();
  plugins_.stopAll();
  scheduler_.shutdown();
}

void Node::addCoreRoutes() {
  router_.add({"GET", "/healthz", plugin::RouteAccess::Public,
               [this](const plugin::HttpRequest&) {
                 plugin::Json plugins = plugin::Json::array();
                 bool healthy = true;
                 for (const auto& status : plugins_.status()) {
                   plugins.push_back({{"name", status.name}, {"version", status.version}, {"state", status.state}});
                   healthy = healthy && status.state == "started";
                 }
                 const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_at_);
                 return plugin::HttpResponse::json(healthy ? 200 : 503,
                                                   {{"status", healthy ? "ok" : "degraded"},
                                                    {"node_id", config_.node.id},
                                                    {"role", config_.node.role},
                                                    {"version", kVersion},
                                                    {"uptime_seconds", uptime.count()},
                                                    {"plugins", plugins}});
               }},
              "core");
}

}  // namespace eventnode::core
