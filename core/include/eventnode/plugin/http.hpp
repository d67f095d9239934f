#pragma once
/// HTTP routes that plugins register on the node's server (same port as the
/// WebSocket gateway). Handlers run on the HTTP server's worker threads, may
/// block for I/O (for example a durable write), and must be thread-safe.
#include <eventnode/plugin/json.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace eventnode::plugin {

/// Who made a request: filled from a verified JWT (or an API key), empty when anonymous.
struct Identity {
  std::string user;                ///< the token's `sub`
  std::vector<std::string> roles;  ///< `role` and `roles` claims merged
  bool authenticated = false;

  bool hasRole(const std::string& role) const {
    for (const auto& r : roles) {
      if (r == role) return true;
    }
    return false;
  }
  bool isAdmin() const { return hasRole("admin"); }
};

struct HttpRequest {
  std::string method;  ///< upper case: GET, POST, ...
  std::string path;    ///< without the query string
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;      ///< keys lower-cased
  std::map<std::string, std::string> path_params;  ///< from `{name}` segments of the route
  std::string body;
  std::string remote_address;
  Identity identity;

  /// The header's value, or "" when absent; `name` is matched case-insensitively.
  std::string header(std::string name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  /// Bytes that are not UTF-8 (echoed from a request, say) become U+FFFD
  /// rather than an exception: an answer can always be written.
  static HttpResponse json(int status, const Json& body) {
    return HttpResponse{status, "application/json", body.dump(-1, ' ', false, Json::error_handler_t::replace), {}};
  }
  /// The one error shape of the HTTP API: {"error":{"code":…,"message":…}}.
  static HttpResponse error(int status, const std::string& code, const std::string& message) {
    return json(status, Json{{"error", {{"code", code}, {"message", message}}}});
  }
};

/// Who may call a route. The host answers 401/403 itself before the handler runs.
enum class RouteAccess { Public, Authenticated, Admin };

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpRoute {
  std::string method;        ///< GET, POST, PUT, DELETE
  std::string path_pattern;  ///< literal segments and `{name}` captures: /api/pow/nodes/{id}/start
  RouteAccess access = RouteAccess::Public;
  HttpHandler handler;
};

/// True for application/json and application/...+json, parameters
/// (`; charset=utf-8`) ignored, in any case.
inline bool isJsonMediaType(std::string_view content_type) {
  std::string type(content_type.substr(0, content_type.find(';')));
  for (auto& c : type) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.pop_back();
  type.erase(0, std::min(type.find_first_not_of(" \t"), type.size()));
  constexpr std::string_view kPrefix = "application/";
  constexpr std::string_view kSuffix = "+json";
  return type == "application/json" ||
         (type.size() > kPrefix.size() + kSuffix.size() && type.starts_with(kPrefix) && type.ends_with(kSuffix));
}

/// The check a route that reads a JSON body makes first: 415 when the request
/// has a body declared as something other than JSON (none declared is taken
/// as JSON), nothing otherwise. Routes that take other bodies do not call it.
inline std::optional<HttpResponse> refuseNonJsonBody(const HttpRequest& request) {
  if (request.body.empty()) return std::nullopt;
  const auto content_type = request.header("content-type");
  if (content_type.empty() || isJsonMediaType(content_type)) return std::nullopt;
  return HttpResponse::error(415, "unsupported_media_type",
                             "the body must be JSON (Content-Type: application/json), not " + content_type);
}

inline std::string HttpRequest::header(std::string name) const {
  for (auto& c : name) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  auto it = headers.find(name);
  return it == headers.end() ? std::string{} : it->second;
}

}  // namespace eventnode::plugin
