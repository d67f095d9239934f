#include "config/core_schema.hpp"

namespace eventnode::core {

using plugin::ConfigField;
using plugin::ConfigSchema;
using plugin::FieldType;

namespace {

ConfigField nodeSection() {
  return {.name = "node",
          .type = FieldType::Map,
          .description = "this process: its id, role and folders",
          .fields = {
              {.name = "id",
               .description = "names this process in logs, metrics and to peers (default: host name)",
               .default_value = YAML::Node("")},
              {.name = "role",
               .description = "deployment role, for operators and logs",
               .default_value = YAML::Node("all-in-one")},
              {.name = "data_dir",
               .description = "folder for SQLite files and plugin state",
               .default_value = YAML::Node("data")},
              {.name = "plugin_dir",
               .type = FieldType::List,
               .description = "folders searched for plugin libraries, in order",
               .item_type = FieldType::String},
          }};
}

ConfigField serverSection() {
  return {
      .name = "server",
      .type = FieldType::Map,
      .description = "the HTTP and WebSocket listener",
      .fields = {
          {.name = "listen", .description = "address to bind", .default_value = YAML::Node("0.0.0.0")},
          {.name = "port",
           .type = FieldType::Integer,
           .description = "TCP port (0 picks a free one)",
           .default_value = YAML::Node(8080),
           .minimum = 0,
           .maximum = 65535},
          {.name = "http_threads",
           .type = FieldType::Integer,
           .description = "HTTP worker threads",
           .default_value = YAML::Node(8),
           .minimum = 1,
           .maximum = 256},
          {.name = "max_http_body_bytes",
           .type = FieldType::Integer,
           .description = "largest HTTP request body accepted (413 beyond)",
           .default_value = YAML::Node(16 * 1024 * 1024),
           .minimum = 1024},
          {.name = "io_threads",
           .type = FieldType::Integer,
           .description = "threads serving every WebSocket connection (0: one less than the cores, at least 1)",
           .default_value = YAML::Node(0),
           .minimum = 0,
           .maximum = 64},
          {.name = "heartbeat_interval",
           .type = FieldType::Integer,
           .description = "seconds between pings; clients silent for two intervals are closed with 1001",
           .default_value = YAML::Node(30),
           .minimum = 1,
           .maximum = 3600},
          {.name = "limits",
           .type = FieldType::Map,
           .description = "per-node and per-connection limits",
           .fields =
               {
                   {.name = "max_connections",
                    .type = FieldType::Integer,
                    .description = "open WebSockets; beyond it HTTP 503",
                    .default_value = YAML::Node(10000),
                    .minimum = 1},
                   {.name = "max_connections_per_ip",
                    .type = FieldType::Integer,
                    .description = "open WebSockets per client address",
                    .default_value = YAML::Node(1000),
                    .minimum = 1},
                   {.name = "max_message_bytes",
                    .type = FieldType::Integer,
                    .description = "largest client message; beyond it close 1009",
                    .default_value = YAML::Node(65536),
                    .minimum = 128},
                   {.name = "outbound_buffer_bytes",
                    .type = FieldType::Integer,
                    .description = "bytes queued to a slow client before it is closed with 1008",
                    .default_value = YAML::Node(1 << 20),
                    .minimum = 1024},
                   {.name = "messages_per_second",
                    .type = FieldType::Integer,
                    .description = "client messages per second; beyond it an error, beyond twice it close 1008",
                    .default_value = YAML::Node(50),
                    .minimum = 1},
                   {.name = "max_subscriptions",
                    .type = FieldType::Integer,
                    .description = "topics per connection",
                    .default_value = YAML::Node(128),
                    .minimum = 1},
                   {.name = "user_events_per_minute",
                    .type = FieldType::Integer,
                    .description =
                        "events per minute to one user (user:<id>); excess dropped, the user told once (0: unlimited)",
                    .default_value = YAML::Node(60),
                    .minimum = 0},
                   {.name = "max_http_connections",
                    .type = FieldType::Integer,
                    .description = "open HTTP connections not (yet) upgraded; beyond it 503 and closed",
                    .default_value = YAML::Node(20000),
                    .minimum = 1},
                   {.name = "max_http_connections_per_ip",
                    .type = FieldType::Integer,
                    .description = "open HTTP connections per client address",
                    .default_value = YAML::Node(1000),
                    .minimum = 1},
                   {.name = "http_queue",
                    .type = FieldType::Integer,
                    .description = "requests waiting for an HTTP worker; beyond it 503 with Retry-After",
                    .default_value = YAML::Node(1024),
                    .minimum = 1},
                   {.name = "http_buffered_bytes",
                    .type = FieldType::Integer,
                    .description = "bytes of request bodies held at once, over every HTTP connection (declared or "
                                   "arriving, until answered); beyond it 503 with Retry-After",
                    .default_value = YAML::Node(256 * 1024 * 1024),
                    .minimum = 1024},
                   {.name = "http_header_timeout",
                    .type = FieldType::Integer,
                    .description = "seconds from a request's first byte (or the accept) to its whole header; then 408",
                    .default_value = YAML::Node(10),
                    .minimum = 1,
                    .maximum = 3600},
                   {.name = "http_idle_timeout",
                    .type = FieldType::Integer,
                    .description = "seconds a kept-alive HTTP connection may wait for its next request",
                    .default_value = YAML::Node(30),
                    .minimum = 1,
                    .maximum = 3600},
                   {.name = "http_body_timeout",
                    .type = FieldType::Integer,
                    .description = "seconds for a request's body after its header, and for writing an answer",
                    .default_value = YAML::Node(60),
                    .minimum = 1,
                    .maximum = 3600},
               }},
          {.name = "tls",
           .type = FieldType::Map,
           .description = "serve https:// and wss:// instead of plain text",
           .fields =
               {
                   {.name = "enabled",
                    .type = FieldType::Boolean,
                    .description = "turn TLS on",
                    .default_value = YAML::Node(false)},
                   {.name = "cert", .description = "PEM certificate chain file", .default_value = YAML::Node("")},
                   {.name = "key", .description = "PEM private key file", .default_value = YAML::Node("")},
                   {.name = "ca",
                    .description = "PEM CA file for client certificates (optional)",
                    .default_value = YAML::Node("")},
               }},
      }};
}

ConfigField authSection() {
  return {.name = "auth",
          .type = FieldType::Map,
          .description = "JWT verification for clients and the HTTP API",
          .fields = {
              {.name = "required",
               .type = FieldType::Boolean,
               .description = "refuse requests without a valid token",
               .default_value = YAML::Node(false)},
              {.name = "algorithm",
               .description = "JWT signature algorithm",
               .default_value = YAML::Node("HS256"),
               .allowed = {"HS256", "RS256"}},
              {.name = "secret",
               .description = "HS256 secret (prefer secret_env or secret_file)",
               .default_value = YAML::Node("")},
              {.name = "secret_env",
               .description = "environment variable holding the HS256 secret",
               .default_value = YAML::Node("")},
              {.name = "secret_file", .description = "file holding the HS256 secret", .default_value = YAML::Node("")},
              {.name = "public_key_file",
               .description = "RS256 public key (PEM) used to verify tokens",
               .default_value = YAML::Node("")},
              {.name = "private_key_file",
               .description = "RS256 private key (PEM), only for `eventnode token`",
               .default_value = YAML::Node("")},
              {.name = "issuer",
               .description = "required `iss` claim (empty: not checked)",
               .default_value = YAML::Node("")},
              {.name = "audience",
               .description = "required `aud` claim (empty: not checked)",
               .default_value = YAML::Node("")},
              {.name = "api_keys",
               .type = FieldType::List,
               .description = "keys accepted in X-API-Key with admin rights",
               .item_type = FieldType::String},
              {.name = "require_exp",
               .type = FieldType::Boolean,
               .description = "refuse tokens without an exp claim (a token without one would never expire)",
               .default_value = YAML::Node(true)},
              {.name = "leeway_seconds",
               .type = FieldType::Integer,
               .description = "clock skew allowed when checking exp, nbf and iat",
               .default_value = YAML::Node(30),
               .minimum = 0,
               .maximum = 600},
              {.name = "public_routes",
               .type = FieldType::List,
               .description = "with required: the HTTP paths that still answer without a token (a * at the end "
                              "matches a prefix); add /metrics for a scraper without one",
               .default_value = YAML::Load("[/healthz]"),
               .item_type = FieldType::String},
          }};
}

ConfigField brokerSection() {
  return {.name = "broker",
          .type = FieldType::Map,
          .description = "how events move between processes",
          .fields = {
              {.name = "type",
               .description = "memory: this process only; redis: every process of the deployment through Redis",
               .default_value = YAML::Node("memory"),
               .allowed = {"memory", "redis"}},
              {.name = "redis",
               .type = FieldType::Map,
               .description = "with type redis: where Redis is and how to use it",
               .fields =
                   {
                       {.name = "url",
                        .description = "redis://[:password@]host[:port][/db] of a single Redis (or use shards)"},
                       {.name = "shards",
                        .type = FieldType::List,
                        .description = "redis:// URLs of several Redis instances; topics are placed by a hash of "
                                       "their name",
                        .item_type = FieldType::String},
                       {.name = "password",
                        .description = "AUTH password for every shard (instead of one in the URL)"},
                       {.name = "prefix",
                        .description = "prefix of every key and channel, so deployments can share a Redis",
                        .default_value = YAML::Node("eventnode")},
                       {.name = "timeout_ms",
                        .type = FieldType::Integer,
                        .description = "connect and reply timeout of each Redis call",
                        .default_value = YAML::Node(2000),
                        .minimum = 50,
                        .maximum = 60000},
                       {.name = "heartbeat_ttl_seconds",
                        .type = FieldType::Integer,
                        .description = "a server that stops beating leaves the cluster after this long (beats every "
                                       "third of it)",
                        .default_value = YAML::Node(9),
                        .minimum = 3,
                        .maximum = 3600},
                   }},
              {.name = "local_bus_topics",
               .type = FieldType::List,
               .description = "with type redis: bus topic patterns that stay in this process (all others reach "
                              "every process)",
               .default_value = YAML::Load("[]"),
               .item_type = FieldType::String},
          }};
}

ConfigField topicsSection() {
  YAML::Node defaults = YAML::Load(R"(
    - {pattern: "user:{sub}", access: user, history: {size: 100, ttl: 3600}}
    - {pattern: admins, access: admin, history: {size: 100, ttl: 3600}}
    - {pattern: broadcast, access: public, history: {size: 100, ttl: 600}}
  )");
  return {.name = "topics",
          .type = FieldType::List,
          .description = "who may subscribe to which topics, and the history kept; first match wins",
          .default_value = defaults,
          .item_type = FieldType::Map,
          .fields = {
              {.name = "pattern",
               .description = "topic name; * at the end matches any suffix, {sub} one user id",
               .required = true},
              {.name = "access",
               .description = "who may subscribe",
               .required = true,
               .allowed = {"public", "authenticated", "user", "admin", "deny"}},
              {.name = "history",
               .type = FieldType::Map,
               .description = "events kept for recovery with since",
               .fields =
                   {
                       {.name = "size",
                        .type = FieldType::Integer,
                        .description = "events kept per topic (0: none)",
                        .default_value = YAML::Node(0),
                        .minimum = 0,
                        .maximum = 1000000},
                       {.name = "ttl",
                        .type = FieldType::Integer,
                        .description = "seconds an event is kept (0: until size pushes it out)",
                        .default_value = YAML::Node(0),
                        .minimum = 0},
                   }},
          }};
}

ConfigField loggingSection() {
  return {.name = "logging",
          .type = FieldType::Map,
          .description = "log lines: level, format and destination",
          .fields = {
              {.name = "level",
               .description = "default level",
               .default_value = YAML::Node("info"),
               .allowed = {"trace", "debug", "info", "warn", "error", "critical", "off"}},
              {.name = "format",
               .description = "text or json (one JSON object a line)",
               .default_value = YAML::Node("text"),
               .allowed = {"text", "json"}},
              {.name = "file", .description = "log file (empty: standard error)", .default_value = YAML::Node("")},
              {.name = "levels",
               .type = FieldType::Dictionary,
               .description = "level per logger, e.g. plugin.meter: debug",
               .item_type = FieldType::String,
               .allowed = {"trace", "debug", "info", "warn", "error", "critical", "off"}},
          }};
}

}  // namespace

ConfigSchema coreConfigSchema() {
  return {nodeSection(), serverSection(), authSection(), brokerSection(), loggingSection(), topicsSection()};
}

}  // namespace eventnode::core
