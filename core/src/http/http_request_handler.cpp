#include "http/http_request_handler.hpp"

#include "errors.hpp"

#include <Poco/String.h>

#include <chrono>

namespace eventnode::core {

plugin::Identity identifyCaller(const JwtAuthenticator& auth, const std::string& authorization_header,
                                const std::string& api_key_header, const std::string& query_token,
                                std::optional<std::chrono::system_clock::time_point>* expires_at) {
  if (!api_key_header.empty()) {
    if (!auth.isApiKey(api_key_header)) throw AuthError("invalid API key");
    return plugin::Identity{"api-key", {"admin"}, true};
  }
  std::string token = query_token;
  if (!authorization_header.empty()) {
    constexpr std::string_view kBearer = "bearer ";
    if (authorization_header.size() <= kBearer.size() ||
        Poco::toLower(authorization_header.substr(0, kBearer.size())) != kBearer) {
      throw AuthError("Authorization header must be 'Bearer <token>'");
    }
    token = authorization_header.substr(kBearer.size());
  }
  if (token.empty()) return {};
  return auth.verify(token, expires_at);
}

plugin::HttpResponse HttpRequestHandler::answer(plugin::HttpRequest& request) const {
  const auto started = std::chrono::steady_clock::now();
  plugin::HttpResponse response;
  try {
    response = route(request);
  } catch (const std::exception& e) {
    logger_->error("request failed method={} path={} error=\"{}\"", request.method, request.path, e.what());
    response = plugin::HttpResponse::error(500, "internal_error", "internal error; see the node's log");
  }
  if (logger_->should_log(spdlog::level::debug)) {
    logger_->debug(
        "http method={} uri_path={} status={} us={}", request.method, request.path, response.status,
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count());
  }
  return response;
}

plugin::HttpResponse HttpRequestHandler::route(plugin::HttpRequest& req) const {
  const auto lookup = router_.find(req.method, req.path);
  if (lookup.outcome == HttpRouter::Outcome::NotFound) {
    return plugin::HttpResponse::error(404, "not_found", "no route for " + req.path);
  }
  if (lookup.outcome == HttpRouter::Outcome::MethodNotAllowed) {
    std::string allowed;
    for (const auto& method : lookup.allowed_methods) allowed += (allowed.empty() ? "" : ", ") + method;
    auto response = plugin::HttpResponse::error(405, "method_not_allowed",
                                                req.method + " is not allowed on " + req.path + "; use " + allowed);
    response.headers.emplace_back("Allow", allowed);
    return response;
  }

  try {
    req.identity = identifyCaller(auth_, req.header("authorization"), req.header("x-api-key"), {});
  } catch (const AuthError& e) {
    return plugin::HttpResponse::error(401, "unauthorized", e.what());
  }
  const auto access = lookup.route->route.access;
  if (access != plugin::RouteAccess::Public && !req.identity.authenticated) {
    return plugin::HttpResponse::error(401, "unauthorized", "this route needs a Bearer token or an API key");
  }
  if (!req.identity.authenticated && auth_.requiresCredentials(req.path)) {
    return plugin::HttpResponse::error(
        401, "unauthorized",
        "auth.required is on and " + req.path + " is not in auth.public_routes: send a Bearer token or an API key");
  }
  if (access == plugin::RouteAccess::Admin && !req.identity.isAdmin()) {
    return plugin::HttpResponse::error(403, "forbidden", "this route needs the admin role");
  }
  req.path_params = lookup.params;

  try {
    return lookup.route->route.handler(req);
  } catch (const std::exception& e) {
    logger_->error("route handler threw owner={} route=\"{} {}\" error=\"{}\"", lookup.route->owner,
                   lookup.route->route.method, lookup.route->route.path_pattern, e.what());
    return plugin::HttpResponse::error(500, "internal_error",
                                       "the " + lookup.route->owner + " handler failed; see the node's log");
  }
}

}  // namespace eventnode::core
