#pragma once
// The node's HTTP listener (plain or TLS) on Poco's HTTPServer. Requests are
// authenticated, routed through the HttpRouter and answered on Poco's worker
// threads; a handler's exception becomes a 500 naming the route's owner.
#include "auth/jwt_authenticator.hpp"
#include "config/node_config.hpp"
#include "http/http_router.hpp"

#include <spdlog/logger.h>

#include <memory>

namespace Poco {
class ThreadPool;
namespace Net {
class HTTPServer;
}
}  // namespace Poco

namespace eventnode::core {

class HttpServer {
 public:
  HttpServer(const ServerSection& settings, const HttpRouter& router, const JwtAuthenticator& auth,
             std::shared_ptr<spdlog::logger> logger);
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
  std::unique_ptr<Poco::ThreadPool> pool_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  int port_ = 0;
};

}  // namespace eventnode::core
