#pragma once
// The node's HTTP listener (plain or TLS). One thread accepts and serves every
// HTTP connection over epoll: it reads whatever bytes arrive, assembles
// requests incrementally (HttpRequestReader) and writes answers without
// blocking. Only complete requests reach a thread: route handlers run on a
// bounded worker pool, /healthz and /metrics on a lane of their own, so idle,
// trickling or slow-reading clients cannot hold a worker, and busy handlers
// cannot stall the health check. Every connection has a deadline for its
// header, its body, its idle keep-alive and its answer's write, and there are
// caps on connections in all and per address. WebSocket upgrades are decided
// on the loop thread and their sockets handed to the gateway.
#include "auth/jwt_authenticator.hpp"
#include "config/node_config.hpp"
#include "http/http_request_handler.hpp"
#include "http/http_router.hpp"

#include <Poco/Net/StreamSocket.h>
#include <spdlog/logger.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace eventnode::core {

/// What to do with a request on a WebSocket path.
struct UpgradeDecision {
  /// Set: answer it instead of upgrading.
  std::optional<plugin::HttpResponse> refusal;
  /// Otherwise the 101 response to write, then `adopt` takes the socket.
  plugin::HttpResponse switching;
  std::function<void(Poco::Net::StreamSocket socket, bool tls)> adopt;
  /// The 101 could not be written: gives back what deciding reserved.
  std::function<void()> abandon;
};

/// Nothing when the request is not for a WebSocket path.
using UpgradeRouter = std::function<std::optional<UpgradeDecision>(const plugin::HttpRequest&)>;

struct HttpServerCounters {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> refused_busy{0};         ///< 503: the worker queue was full
  std::atomic<std::uint64_t> refused_connections{0};  ///< over max_http_connections or the per-address cap
  std::atomic<std::uint64_t> timed_out{0};            ///< header, body, idle or write deadline passed
  std::atomic<std::uint64_t> malformed{0};            ///< refused by the request reader
  std::atomic<std::size_t> open_connections{0};
};

class HttpServer {
 public:
  HttpServer(const ServerSection& settings, const HttpRouter& router, const JwtAuthenticator& auth,
             std::shared_ptr<spdlog::logger> logger, UpgradeRouter upgrades = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds and starts serving. Throws std::runtime_error naming the address when binding fails.
  void start();
  /// Stops accepting, closes HTTP connections, lets running handlers finish. Idempotent.
  void stop();
  /// The bound port (useful with port 0).
  int port() const { return port_; }
  const HttpServerCounters& counters() const { return counters_; }

 private:
  class Loop;

  ServerSection settings_;
  HttpRequestHandler handler_;
  std::shared_ptr<spdlog::logger> logger_;
  UpgradeRouter upgrades_;
  HttpServerCounters counters_;
  std::unique_ptr<Loop> loop_;
  int port_ = 0;
};

}  // namespace eventnode::core
