#pragma once
// Maps (method, path) to the handler a plugin or the core registered.
// Routes are added while the node starts and frozen before the server
// accepts requests, so lookups need no lock.
#include <eventnode/plugin/http.hpp>

#include <map>
#include <string>
#include <vector>

namespace eventnode::core {

class HttpRouter {
 public:
  struct Route {
    plugin::HttpRoute route;
    std::string owner;  ///< "core" or the plugin's name, for logs and clash errors
    std::vector<std::string> segments;
  };

  enum class Outcome { Found, NotFound, MethodNotAllowed };

  struct Lookup {
    Outcome outcome = Outcome::NotFound;
    const Route* route = nullptr;
    std::map<std::string, std::string> params;
    std::vector<std::string> allowed_methods;  ///< for 405
  };

  /// Throws std::logic_error for a malformed pattern, a clash with an existing
  /// route (naming its owner), or a call after freeze().
  void add(plugin::HttpRoute route, const std::string& owner);
  void freeze() { frozen_ = true; }

  /// Thread-safe once frozen.
  Lookup find(const std::string& method, const std::string& path) const;

 private:
  std::vector<Route> routes_;
  bool frozen_ = false;
};

/// Splits "/a/b/" into {"a","b"}.
std::vector<std::string> splitPath(const std::string& path);

}  // namespace eventnode::core
