#pragma once
// The HTTP side of a WebSocket connection: authenticates the caller, applies
// the admission limits and answers refusals with JSON before any upgrade,
// performs the RFC 6455 handshake, then hands the socket to the gateway's
// I/O threads and returns the HTTP worker to the pool.
#include "auth/jwt_authenticator.hpp"
#include "gateway/gateway.hpp"

#include <Poco/Net/HTTPRequestHandler.h>
#include <spdlog/logger.h>

#include <memory>
#include <string>

namespace eventnode::core {

class WebSocketUpgradeHandler final : public Poco::Net::HTTPRequestHandler {
 public:
  /// `endpoint` null means the core /ws dialect.
  WebSocketUpgradeHandler(Gateway& gateway, const JwtAuthenticator& auth, const plugin::WebSocketEndpoint* endpoint,
                          std::shared_ptr<spdlog::logger> logger)
      : gateway_(gateway), auth_(auth), endpoint_(endpoint), logger_(std::move(logger)) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override;

 private:
  Gateway& gateway_;
  const JwtAuthenticator& auth_;
  const plugin::WebSocketEndpoint* endpoint_;
  std::shared_ptr<spdlog::logger> logger_;
};

/// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (RFC 6455 §4.2.2).
std::string webSocketAccept(const std::string& key);

}  // namespace eventnode::core
