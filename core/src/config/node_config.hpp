#pragma once
// node.yaml, parsed and validated into plain structs. Relative paths in the
// file resolve against the file's own folder, so a config means the same
// thing whatever the working directory.
#include "config/env_expansion.hpp"
#include "errors.hpp"

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace eventnode::core {

struct NodeSection {
  std::string id;
  std::string role;
  std::filesystem::path data_dir;
  std::vector<std::filesystem::path> plugin_dirs;
};

struct TlsSection {
  bool enabled = false;
  std::filesystem::path cert;
  std::filesystem::path key;
  std::filesystem::path ca;
};

/// The gateway's limits; each is answered clearly and counted in /metrics.
struct LimitsSection {
  std::size_t max_connections = 10000;
  std::size_t max_connections_per_ip = 1000;
  std::size_t max_message_bytes = 65536;
  std::size_t outbound_buffer_bytes = 1 << 20;
  std::uint32_t messages_per_second = 50;
  std::size_t max_subscriptions = 128;
  std::uint32_t user_events_per_minute = 60;  ///< 0: unlimited
  // The HTTP side (before any upgrade): caps and deadlines so that idle or slow
  // clients cannot hold it.
  std::size_t max_http_connections = 20000;
  std::size_t max_http_connections_per_ip = 1000;
  std::size_t http_queue = 1024;                 ///< requests waiting for a worker; 503 beyond
  std::size_t http_buffered_bytes = 256u << 20;  ///< request bodies held at once, over every connection; 503 beyond
  std::chrono::seconds http_header_timeout{10};  ///< from a request's first byte to its whole header
  std::chrono::seconds http_idle_timeout{30};    ///< a kept-alive connection between requests
  std::chrono::seconds http_body_timeout{60};    ///< the whole body after the header; also an answer's write
};

struct ServerSection {
  std::string listen;
  int port = 0;
  int http_threads = 0;
  int io_threads = 1;  // resolved from node.yaml (0 there: cores - 1)
  int heartbeat_interval_seconds = 30;
  std::size_t max_http_body_bytes = 0;
  LimitsSection limits;
  TlsSection tls;
};

/// One entry of `topics`: who may subscribe, and how much history is kept.
struct TopicSection {
  std::string pattern;
  std::string access;  ///< public, authenticated, user, admin, deny
  std::size_t history_size = 0;
  long long history_ttl_seconds = 0;
};

struct AuthSection {
  bool required = false;
  std::string algorithm;  ///< HS256 or RS256
  std::string secret;     ///< resolved from secret, secret_env or secret_file; never logged
  std::filesystem::path public_key_file;
  std::filesystem::path private_key_file;
  std::string issuer;
  std::string audience;
  std::vector<std::string> api_keys;  ///< accepted as `X-API-Key` with admin rights; never logged
  bool require_exp = true;            ///< tokens without exp are refused
  std::chrono::seconds leeway{30};    ///< clock skew allowed for exp, nbf and iat
  /// With `required`: HTTP paths answered without a token (`*` at the end: a prefix).
  std::vector<std::string> public_routes{"/healthz"};
};

struct BrokerSection {
  std::string type;                          ///< memory or redis
  std::vector<std::string> redis_urls;       ///< one per shard (redis.url or redis.shards)
  std::string redis_password;                ///< for every shard; a URL's own password wins
  std::string prefix = "eventnode";
  std::chrono::milliseconds timeout{2000};
  std::chrono::seconds heartbeat_ttl{9};
  std::vector<std::string> local_bus_topics;  ///< topic patterns
};

struct LoggingSection {
  std::string level;
  std::string format;                         ///< text or json
  std::filesystem::path file;                 ///< empty: standard error
  std::map<std::string, std::string> levels;  ///< per logger name
};

struct PluginEntry {
  std::size_t index = 0;  ///< position in the `plugins` list, for error paths
  int line = 0;
  std::string name;
  std::string library;  ///< as written; empty means lib<name>.so
  bool enabled = true;
  std::vector<std::string> requires_plugins;
  YAML::Node config;  ///< raw; validated against the plugin's own schema once it is loaded

  std::string path() const { return "plugins[" + std::to_string(index) + "]"; }
};

struct NodeConfig {
  std::filesystem::path file;
  std::filesystem::path base_dir;  ///< the config file's folder
  NodeSection node;
  ServerSection server;
  AuthSection auth;
  BrokerSection broker;
  LoggingSection logging;
  std::vector<TopicSection> topics;
  std::vector<PluginEntry> plugins;
  std::vector<ExpandedValue> expanded;  ///< scalars that held ${VAR}, for --check-config
};

/// Reads and validates `file`. Appends every problem found to `problems` and
/// returns what could be read; callers decide whether problems are fatal.
NodeConfig loadNodeConfig(const std::filesystem::path& file, std::vector<ConfigProblem>& problems);

/// loadNodeConfig, throwing ConfigError listing every problem.
NodeConfig loadNodeConfigOrThrow(const std::filesystem::path& file);

}  // namespace eventnode::core
