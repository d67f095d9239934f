#pragma once
// Where one Redis instance is, parsed from a redis:// URL.
#include <optional>
#include <string>

namespace eventnode::core {

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;  ///< empty: no AUTH
  int db = 0;

  /// redis://host:port/db, without the password: safe to log and show.
  std::string display() const;
};

/// Parses redis://[:password@]host[:port][/db]. Returns nullopt and sets
/// `error` to what is wrong with it otherwise.
std::optional<RedisEndpoint> parseRedisUrl(const std::string& url, std::string& error);

}  // namespace eventnode::core
