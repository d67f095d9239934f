#pragma once
// Answers one parsed HTTP request: finds its route, checks who is calling
// against the route's access rule and auth.required, and calls the route's
// handler. Holds no socket and no thread: the server calls it on a worker.
#include "auth/jwt_authenticator.hpp"
#include "http/http_router.hpp"

#include <spdlog/logger.h>

#include <chrono>
#include <memory>
#include <optional>

namespace eventnode::core {

class HttpRequestHandler {
 public:
  HttpRequestHandler(const HttpRouter& router, const JwtAuthenticator& auth, std::shared_ptr<spdlog::logger> logger)
      : router_(router), auth_(auth), logger_(std::move(logger)) {}

  /// Never throws: a handler's exception becomes a 500 naming the route's owner.
  plugin::HttpResponse answer(plugin::HttpRequest& request) const;

 private:
  plugin::HttpResponse route(plugin::HttpRequest& request) const;

  const HttpRouter& router_;
  const JwtAuthenticator& auth_;
  std::shared_ptr<spdlog::logger> logger_;
};

/// Who is calling: a verified Bearer token, an API key (admin), or anonymous.
/// Throws AuthError when a credential is present but not valid. `expires_at`
/// receives the token's expiry (none for an API key or no token).
plugin::Identity identifyCaller(const JwtAuthenticator& auth, const std::string& authorization_header,
                                const std::string& api_key_header, const std::string& query_token,
                                std::optional<std::chrono::system_clock::time_point>* expires_at = nullptr);

}  // namespace eventnode::core
