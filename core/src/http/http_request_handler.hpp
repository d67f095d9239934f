#pragma once
// Answers one HTTP request: converts it to the plugin API's HttpRequest,
// checks the route's access rule and calls the route's handler.
#include "auth/jwt_authenticator.hpp"
#include "http/http_router.hpp"

#include <Poco/Net/HTTPRequestHandler.h>
#include <spdlog/logger.h>

#include <chrono>
#include <memory>
#include <optional>

namespace eventnode::core {

class HttpRequestHandler final : public Poco::Net::HTTPRequestHandler {
 public:
  HttpRequestHandler(const HttpRouter& router, const JwtAuthenticator& auth, std::size_t max_body_bytes,
                     std::shared_ptr<spdlog::logger> logger)
      : router_(router), auth_(auth), max_body_bytes_(max_body_bytes), logger_(std::move(logger)) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override;

 private:
  plugin::HttpResponse answer(Poco::Net::HTTPServerRequest& request);

  const HttpRouter& router_;
  const JwtAuthenticator& auth_;
  std::size_t max_body_bytes_;
  std::shared_ptr<spdlog::logger> logger_;
};

/// Who is calling: a verified Bearer token, an API key (admin), or anonymous.
/// Throws AuthError when a credential is present but not valid. `expires_at`
/// receives the token's expiry (none for an API key or no token).
plugin::Identity identifyCaller(const JwtAuthenticator& auth, const std::string& authorization_header,
                                const std::string& api_key_header, const std::string& query_token,
                                std::optional<std::chrono::system_clock::time_point>* expires_at = nullptr);

}  // namespace eventnode::core
