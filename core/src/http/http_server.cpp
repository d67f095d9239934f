#include "http/http_server.hpp"

#include "http/http_request_handler.hpp"

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/ThreadPool.h>

#include <stdexcept>

namespace eventnode::core {
namespace {

class HandlerFactory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  HandlerFactory(const HttpRouter& router, const JwtAuthenticator& auth, std::size_t max_body,
                 std::shared_ptr<spdlog::logger> logger, UpgradeHandlerFactory upgrades)
      : router_(router), auth_(auth), max_body_(max_body), logger_(std::move(logger)), upgrades_(std::move(upgrades)) {}

  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest& request) override {
    if (upgrades_) {
      if (auto* handler = upgrades_(request)) return handler;
    }
    return new HttpRequestHandler(router_, auth_, max_body_, logger_);
  }

 private:
  const HttpRouter& router_;
  const JwtAuthenticator& auth_;
  std::size_t max_body_;
  std::shared_ptr<spdlog::logger> logger_;
  UpgradeHandlerFactory upgrades_;
};

Poco::Net::ServerSocket bind(const ServerSection& settings) {
  const Poco::Net::SocketAddress address(settings.listen, static_cast<Poco::UInt16>(settings.port));
  // Bound by hand: Poco's convenience constructors also set SO_REUSEPORT, which
  // would let a second node share the port silently instead of failing.
  if (!settings.tls.enabled) {
    Poco::Net::ServerSocket socket;
    socket.bind(address, true, false);
    socket.listen(1024);
    return socket;
  }
  Poco::Net::Context::Ptr context = new Poco::Net::Context(
      Poco::Net::Context::TLS_SERVER_USE, settings.tls.key.string(), settings.tls.cert.string(),
      settings.tls.ca.string(),
      settings.tls.ca.empty() ? Poco::Net::Context::VERIFY_NONE : Poco::Net::Context::VERIFY_RELAXED);
  context->disableProtocols(Poco::Net::Context::PROTO_SSLV2 | Poco::Net::Context::PROTO_SSLV3 |
                            Poco::Net::Context::PROTO_TLSV1 | Poco::Net::Context::PROTO_TLSV1_1);
  Poco::Net::SecureServerSocket socket(context);
  socket.bind(address, true, false);
  socket.listen(1024);
  return socket;
}

}  // namespace

HttpServer::HttpServer(const ServerSection& settings, const HttpRouter& router, const JwtAuthenticator& auth,
                       std::shared_ptr<spdlog::logger> logger, UpgradeHandlerFactory upgrades)
    : settings_(settings), router_(router), auth_(auth), logger_(std::move(logger)), upgrades_(std::move(upgrades)) {}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::start() {
  Poco::Net::ServerSocket socket;
  try {
    socket = bind(settings_);
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("cannot listen on " + settings_.listen + ":" + std::to_string(settings_.port) + ": " +
                             e.displayText() + "; change server.listen/server.port or stop the other process");
  }
  port_ = socket.address().port();
  auto params = Poco::AutoPtr<Poco::Net::HTTPServerParams>(new Poco::Net::HTTPServerParams);
  params->setMaxThreads(settings_.http_threads);
  params->setMaxQueued(1024);
  params->setKeepAlive(true);
  params->setMaxKeepAliveRequests(0);  // unlimited: benchmarks and services keep one connection
  params->setKeepAliveTimeout(Poco::Timespan(30, 0));
  // Our own pool: Poco's default pool caps at 16 threads whatever http_threads says.
  pool_ = std::make_unique<Poco::ThreadPool>(1, settings_.http_threads);
  server_ = std::make_unique<Poco::Net::HTTPServer>(
      new HandlerFactory(router_, auth_, settings_.max_http_body_bytes, logger_, upgrades_), *pool_, socket, params);
  server_->start();
  logger_->info("listening address={} port={} tls={}", settings_.listen, port_, settings_.tls.enabled);
}

void HttpServer::stop() {
  if (!server_) return;
  server_->stopAll(true);
  server_.reset();
  pool_->joinAll();
  pool_.reset();
  logger_->info("stopped listening port={}", port_);
}

}  // namespace eventnode::core
