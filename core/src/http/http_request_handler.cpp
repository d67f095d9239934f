#include "http/http_request_handler.hpp"

#include "errors.hpp"

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/String.h>
#include <Poco/URI.h>

#include <chrono>

namespace eventnode::core {
namespace {

std::string lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return text;
}

}  // namespace

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
        lower(authorization_header.substr(0, kBearer.size())) != kBearer) {
      throw AuthError("Authorization header must be 'Bearer <token>'");
    }
    token = authorization_header.substr(kBearer.size());
  }
  if (token.empty()) return {};
  return auth.verify(token, expires_at);
}

void HttpRequestHandler::handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) {
  const auto started = std::chrono::steady_clock::now();
  plugin::HttpResponse answer_value;
  try {
    answer_value = answer(request);
  } catch (const std::exception& e) {
    logger_->error("request failed method={} path={} error=\"{}\"", request.getMethod(),
                   Poco::URI(request.getURI()).getPath(), e.what());
    answer_value = plugin::HttpResponse::error(500, "internal_error", "internal error; see the node's log");
  }
  // setStatus alone keeps the reason phrase "OK" whatever the status: "413 OK", "404 OK".
  response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(answer_value.status));
  response.setContentType(answer_value.content_type);
  for (const auto& [name, value] : answer_value.headers) response.set(name, value);
  response.setContentLength(static_cast<std::streamsize>(answer_value.body.size()));
  response.send().write(answer_value.body.data(), static_cast<std::streamsize>(answer_value.body.size()));
  // Checked first: the arguments re-parse the URI, which every request would pay for otherwise.
  if (logger_->should_log(spdlog::level::debug)) {
    logger_->debug(
        "http method={} uri_path={} status={} us={}", request.getMethod(), Poco::URI(request.getURI()).getPath(),
        answer_value.status,
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count());
  }
}

plugin::HttpResponse HttpRequestHandler::answer(Poco::Net::HTTPServerRequest& request) {
  // Two lengths, or a length beside chunked encoding, let a proxy and this node
  // disagree on where the body ends (request smuggling): refused, and the
  // connection closed, since the rest of its bytes cannot be trusted.
  std::size_t lengths = 0;
  for (const auto& [name, value] : request) lengths += Poco::icompare(name, "Content-Length") == 0 ? 1 : 0;
  if (lengths > 1 || (lengths == 1 && request.getChunkedTransferEncoding())) {
    auto refusal = plugin::HttpResponse::error(
        400, "bad_request",
        lengths > 1 ? "more than one Content-Length header" : "Content-Length together with chunked encoding");
    refusal.headers.emplace_back("Connection", "close");
    return refusal;
  }
  const Poco::URI uri(request.getURI());
  plugin::HttpRequest req;
  req.method = request.getMethod();
  req.path = uri.getPath();
  for (const auto& [key, value] : uri.getQueryParameters()) req.query[key] = value;
  for (const auto& [name, value] : request) req.headers[lower(name)] = value;
  req.remote_address = request.clientAddress().host().toString();

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

  if (request.hasContentLength() && request.getContentLength64() > static_cast<std::int64_t>(max_body_bytes_)) {
    return plugin::HttpResponse::error(413, "body_too_large",
                                       "request body exceeds " + std::to_string(max_body_bytes_) + " bytes");
  }
  // RFC 9112 §6.3: a request with neither Content-Length nor chunked encoding
  // has no body. Reading one anyway would wait for a body that never comes.
  const bool has_body = request.hasContentLength() || request.getChunkedTransferEncoding();
  auto& in = request.stream();
  std::string body;
  char buffer[16384];
  while (has_body && (in.read(buffer, sizeof(buffer)) || in.gcount() > 0)) {
    body.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (body.size() > max_body_bytes_) {
      return plugin::HttpResponse::error(413, "body_too_large",
                                         "request body exceeds " + std::to_string(max_body_bytes_) + " bytes");
    }
  }
  req.body = std::move(body);
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
