#pragma once
/// HTTP routes that plugins register on the node's server (same port as the
/// WebSocket gateway). Handlers run on the HTTP server's worker threads, may
/// block for I/O (for example a durable write), and must be thread-safe.
#include <eventnode/plugin/json.hpp>

#include <functional>
#include <map>
#include <string>
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

  static HttpResponse json(int status, const Json& body) {
    return HttpResponse{status, "application/json", body.dump(), {}};
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

inline std::string HttpRequest::header(std::string name) const {
  for (auto& c : name) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  auto it = headers.find(name);
  return it == headers.end() ? std::string{} : it->second;
}

}  // namespace eventnode::plugin
