#pragma once
// The HTTP side of a WebSocket connection: authenticates the caller, applies
// the admission limits and answers refusals with JSON before any upgrade,
// and prepares the RFC 6455 handshake. The HTTP server writes the 101 and
// then hands the socket to the gateway's I/O threads.
#include "auth/jwt_authenticator.hpp"
#include "gateway/gateway.hpp"
#include "http/http_server.hpp"

#include <spdlog/logger.h>

#include <memory>
#include <optional>
#include <string>

namespace eventnode::core {

class WebSocketUpgrade {
 public:
  WebSocketUpgrade(Gateway& gateway, const JwtAuthenticator& auth, std::shared_ptr<spdlog::logger> logger)
      : gateway_(gateway), auth_(auth), logger_(std::move(logger)) {}

  /// Nothing when `request.path` is not a WebSocket path (/ws or a plugin's endpoint).
  std::optional<UpgradeDecision> decide(const plugin::HttpRequest& request) const;

 private:
  UpgradeDecision decide(const plugin::HttpRequest& request, const plugin::WebSocketEndpoint* endpoint) const;

  Gateway& gateway_;
  const JwtAuthenticator& auth_;
  std::shared_ptr<spdlog::logger> logger_;
};

/// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (RFC 6455 §4.2.2).
std::string webSocketAccept(const std::string& key);

}  // namespace eventnode::core
