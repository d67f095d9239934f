#pragma once
// The node's HTTP listener (plain or TLS) on Poco's HTTPServer. Requests are
// authenticated, routed through the HttpRouter and answered on Poco's worker
// threads; a handler's exception becomes a 500 naming the route's owner.
#include "auth/jwt_authenticator.hpp"
#include "config/node_config.hpp"
#include "http/http_router.hpp"

#include <spdlog/logger.h>

#include <functional>
#include <memory>

namespace Poco {
class ThreadPool;
namespace Net {
class HTTPServer;
class HTTPRequestHandler;
class HTTPServerRequest;
}  // namespace Net
}  // namespace Poco

namespace eventnode::core {

/// Returns a handler for requests that are WebSocket upgrades (by path), or nullptr.
using UpgradeHandlerFactory = std::function<Poco::Net::HTTPRequestHandler*(const Poco::Net::HTTPServerRequest&)>;

class HttpServer {
 public:
  HttpServer(const ServerSection& settings, const HttpRouter& router, const JwtAuthenticator& auth,
             std::shared_ptr<spdlog::logger> logger, UpgradeHandlerFactory upgrades = {});
  ~HttpServer();

  /// Binds and starts serving. Throws std::runtime_error naming the address when binding fails.
  void start();
  /// Stops accepting, lets running requests finish. Idempotent.
  void stop();
  /// The bound port (useful with port 0).
  int port() const { return port_; }

 private:
  ServerSection settings_;
  const HttpRouter& router_;
  const JwtAuthenticator& auth_;
  std::shared_ptr<spdlog::logger> logger_;
  UpgradeHandlerFactory upgrades_;
  std::unique_ptr<Poco::ThreadPool> pool_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  int port_ = 0;
};

}  // namespace eventnode::core
