#include "broker/redis_endpoint.hpp"

#include <charconv>

namespace eventnode::core {
namespace {

bool parseNumber(std::string_view text, int low, int high, int& out) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < low || value > high) return false;
  out = value;
  return true;
}

}  // namespace

std::string RedisEndpoint::display() const {
  return "redis://" + host + ":" + std::to_string(port) + (db != 0 ? "/" + std::to_string(db) : "");
}

std::optional<RedisEndpoint> parseRedisUrl(const std::string& url, std::string& error) {
  constexpr std::string_view kScheme = "redis://";
  if (url.rfind(kScheme, 0) != 0) {
    error = "'" + url + "' is not a redis:// URL (redis://[:password@]host[:port][/db]; TLS is not supported)";
    return std::nullopt;
  }
  RedisEndpoint endpoint;
  std::string_view rest(url);
  rest.remove_prefix(kScheme.size());
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    auto credentials = rest.substr(0, at);
    // redis://user:password@ (Redis 6 ACL user names are not supported): the password follows the colon.
    if (const auto colon = credentials.find(':'); colon != std::string_view::npos)
      credentials.remove_prefix(colon + 1);
    endpoint.password = std::string(credentials);
    rest.remove_prefix(at + 1);
  }
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    const auto db = rest.substr(slash + 1);
    if (!db.empty() && !parseNumber(db, 0, 15, endpoint.db)) {
      error = "database '" + std::string(db) + "' in the Redis URL must be a number from 0 to 15";
      return std::nullopt;
    }
    rest = rest.substr(0, slash);
  }
  if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    if (!parseNumber(rest.substr(colon + 1), 1, 65535, endpoint.port)) {
      error = "port '" + std::string(rest.substr(colon + 1)) + "' in the Redis URL must be a number from 1 to 65535";
      return std::nullopt;
    }
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) {
    error = "the Redis URL '" + url + "' has no host";
    return std::nullopt;
  }
  endpoint.host = std::string(rest);
  return endpoint;
}

}  // namespace eventnode::core
