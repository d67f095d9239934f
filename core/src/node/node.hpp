#pragma once
// One eventnode process: the core services, the plugins and the HTTP server,
// started and stopped in the right order.
#include "auth/jwt_authenticator.hpp"
#include "bus/event_bus.hpp"
#include "config/node_config.hpp"
#include "gateway/gateway.hpp"
#include "gateway/websocket_upgrade.hpp"
#include "http/http_router.hpp"
#include "http/http_server.hpp"
#include "logging/log_registry.hpp"
#include "metrics/metric_registry.hpp"
#include "plugins/core_services.hpp"
#include "plugins/plugin_manager.hpp"
#include "scheduler/scheduler.hpp"

#include <chrono>
#include <memory>

namespace eventnode::core {

class Node {
 public:
  /// Throws AuthError when a configured key cannot be read.
  Node(NodeConfig config, LogRegistry& logs);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  /// Loads and starts every plugin, then starts listening. Throws ConfigError
  /// (plugin config problems), PluginStartError, or std::runtime_error (cannot
  /// listen); on a throw everything already started has been stopped.
  void start();
  /// Stops listening, then stops plugins in reverse start order. Idempotent.
  void stop();

  int port() const { return server_ ? server_->port() : 0; }

 private:
  void addCoreRoutes();
  /// The HTTP server's connections, requests and refusals on /metrics.
  void addHttpMetrics();

  NodeConfig config_;
  LogRegistry& logs_;
  std::shared_ptr<spdlog::logger> logger_;
  // The plugin manager is declared first so it is destroyed last: the router,
  // bus and scheduler below hold closures whose code lives in plugin libraries.
  PluginManager plugins_;
  Scheduler scheduler_;
  EventBus bus_;
  MetricRegistry metrics_;
  HttpRouter router_;
  JwtAuthenticator auth_;
  Gateway gateway_;
  CoreServices services_;
  std::unique_ptr<WebSocketUpgrade> upgrades_;
  std::unique_ptr<HttpServer> server_;
  std::chrono::steady_clock::time_point started_at_;
};

}  // namespace eventnode::core
