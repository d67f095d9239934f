#include "config/node_config.hpp"

#include "broker/redis_endpoint.hpp"
#include "config/core_schema.hpp"
#include "config/schema_validator.hpp"
#include "topics/topic_pattern.hpp"

#include <Poco/Environment.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace eventnode::core {
namespace {

namespace fs = std::filesystem;

fs::path resolvePath(const fs::path& base, const std::string& value) {
  if (value.empty()) return {};
  const fs::path path(value);
  return path.is_absolute() ? path : (base / path).lexically_normal();
}

std::string readSecretFile(const fs::path& file, std::vector<ConfigProblem>& problems, int line) {
  std::ifstream in(file);
  if (!in) {
    problems.push_back({"auth.secret_file", line, "cannot read " + file.string()});
    return {};
  }
  std::stringstream text;
  text << in.rdbuf();
  auto secret = text.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r' || secret.back() == ' ')) secret.pop_back();
  return secret;
}

/// The broker section: with type redis, one URL (redis.url) or several (redis.shards), each one checked.
void readBroker(const YAML::Node& broker, const YAML::Node& raw, BrokerSection& out,
                std::vector<ConfigProblem>& problems) {
  out.type = broker["type"].as<std::string>("memory");
  const auto redis = broker["redis"];
  out.redis_password = redis["password"].as<std::string>("");
  out.prefix = redis["prefix"].as<std::string>("eventnode");
  out.timeout = std::chrono::milliseconds(redis["timeout_ms"].as<int>(2000));
  out.heartbeat_ttl = std::chrono::seconds(redis["heartbeat_ttl_seconds"].as<int>(9));
  for (const auto& pattern : broker["local_bus_topics"]) {
    const auto text = pattern.as<std::string>("");
    if (!isValidTopicPattern(text)) {
      problems.push_back({"broker.local_bus_topics", lineOf(raw["local_bus_topics"]),
                          "'" + text + "' is not a topic pattern: " + kTopicNameRule});
    }
    out.local_bus_topics.push_back(text);
  }
  if (out.type != "redis") return;
  const auto raw_redis = raw["redis"];
  const bool has_url = redis["url"].IsDefined() && !redis["url"].IsNull();
  const bool has_shards = redis["shards"].IsDefined() && redis["shards"].size() > 0;
  if (has_url == has_shards) {
    problems.push_back({"broker.redis", lineOf(raw_redis.IsDefined() ? raw_redis : raw),
                        has_url ? "set redis.url or redis.shards, not both"
                                : "broker type redis needs redis.url (one Redis) or redis.shards (several)"});
    return;
  }
  const auto check = [&](const std::string& url, const std::string& key, const YAML::Node& at) {
    std::string error;
    if (!parseRedisUrl(url, error)) problems.push_back({key, lineOf(at), error});
    out.redis_urls.push_back(url);
  };
  if (has_url) {
    check(redis["url"].as<std::string>(""), "broker.redis.url", raw_redis["url"]);
    return;
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < redis["shards"].size(); ++i) {
    const auto url = redis["shards"][i].as<std::string>("");
    const auto key = "broker.redis.shards[" + std::to_string(i) + "]";
    if (!seen.insert(url).second) problems.push_back({key, lineOf(raw_redis["shards"]), url + " is listed twice"});
    check(url, key, raw_redis["shards"]);
  }
}

void readAuth(const YAML::Node& auth, const YAML::Node& raw, const fs::path& base, AuthSection& out,
              std::vector<ConfigProblem>& problems) {
  const int line = lineOf(raw);
  out.required = auth["required"].as<bool>(false);
  out.require_exp = auth["require_exp"].as<bool>(true);
  out.leeway = std::chrono::seconds(auth["leeway_seconds"].as<int>(30));
  out.algorithm = auth["algorithm"].as<std::string>("HS256");
  out.issuer = auth["issuer"].as<std::string>("");
  out.audience = auth["audience"].as<std::string>("");
  out.public_key_file = resolvePath(base, auth["public_key_file"].as<std::string>(""));
  out.private_key_file = resolvePath(base, auth["private_key_file"].as<std::string>(""));
  for (const auto& key : auth["api_keys"]) out.api_keys.push_back(key.as<std::string>(""));
  if (const auto routes = auth["public_routes"]; routes && routes.IsSequence()) {
    out.public_routes.clear();
    for (const auto& route : routes) out.public_routes.push_back(route.as<std::string>(""));
  }

  const auto secret = auth["secret"].as<std::string>("");
  const auto secret_env = auth["secret_env"].as<std::string>("");
  const auto secret_file = auth["secret_file"].as<std::string>("");
  const int sources = !secret.empty() + !secret_env.empty() + !secret_file.empty();
  if (sources > 1) {
    problems.push_back({"auth", line, "set only one of secret, secret_env and secret_file"});
  }
  if (!secret_env.empty()) {
    if (const char* value = std::getenv(secret_env.c_str()); value && *value) {
      out.secret = value;
    } else {
      problems.push_back({"auth.secret_env", lineOf(raw["secret_env"]),
                          "environment variable " + secret_env + " is not set or empty"});
    }
  } else if (!secret_file.empty()) {
    out.secret = readSecretFile(resolvePath(base, secret_file), problems, lineOf(raw["secret_file"]));
  } else {
    out.secret = secret;
  }
  if (out.algorithm == "HS256" && out.required && out.secret.empty()) {
    problems.push_back(
        {"auth", line, "auth.required with HS256 needs a secret: set secret, secret_env or secret_file"});
  }
  if (out.algorithm == "HS256" && !out.secret.empty() && out.secret.size() < 32) {
    problems.push_back({"auth", line, "the HS256 secret is shorter than 32 bytes; use a longer random secret"});
  }
  if (out.algorithm == "RS256" && out.public_key_file.empty()) {
    problems.push_back({"auth.public_key_file", line, "RS256 needs public_key_file (PEM)"});
  }
}

void readPlugins(const YAML::Node& list, NodeConfig& config, std::vector<ConfigProblem>& problems) {
  if (!list.IsDefined() || list.IsNull()) return;
  if (!list.IsSequence()) {
    problems.push_back({"plugins", lineOf(list), "expected a list of {name, library, enabled, requires, config}"});
    return;
  }
  static const std::set<std::string> kKeys{"name", "library", "enabled", "requires", "config"};
  std::set<std::string> names;
  std::size_t index = 0;
  for (const auto& item : list) {
    PluginEntry entry;
    entry.index = index++;
    entry.line = lineOf(item);
    const auto path = entry.path();
    if (!item.IsMap()) {
      problems.push_back({path, entry.line, "expected a mapping with keys: name, library, enabled, requires, config"});
      continue;
    }
    for (const auto& key : item) {
      if (!kKeys.count(key.first.Scalar())) {
        problems.push_back({path + "." + key.first.Scalar(), lineOf(key.first),
                            "unknown key; allowed keys: name, library, enabled, requires, config"});
      }
    }
    const auto scalar = [&](const char* key, std::string& out) {
      const auto node = item[key];
      if (!node.IsDefined() || node.IsNull()) return;
      if (!node.IsScalar()) {
        problems.push_back({path + "." + key, lineOf(node), "expected a string"});
        return;
      }
      out = node.Scalar();
    };
    scalar("name", entry.name);
    scalar("library", entry.library);
    if (entry.name.empty()) {
      problems.push_back({path + ".name", entry.line, "missing required key (the plugin's name)"});
    } else if (!names.insert(entry.name).second) {
      problems.push_back({path + ".name", lineOf(item["name"]), "plugin '" + entry.name + "' is listed twice"});
    }
    if (const auto enabled = item["enabled"]; enabled.IsDefined() && !enabled.IsNull()) {
      bool value = true;
      if (!enabled.IsScalar() || !YAML::convert<bool>::decode(enabled, value)) {
        problems.push_back({path + ".enabled", lineOf(enabled), "expected a boolean (true/false)"});
      }
      entry.enabled = value;
    }
    if (const auto requires_list = item["requires"]; requires_list.IsDefined() && !requires_list.IsNull()) {
      if (!requires_list.IsSequence()) {
        problems.push_back({path + ".requires", lineOf(requires_list), "expected a list of plugin names"});
      } else {
        for (const auto& name : requires_list) {
          if (name.IsScalar())
            entry.requires_plugins.push_back(name.Scalar());
          else
            problems.push_back({path + ".requires", lineOf(name), "expected a plugin name"});
        }
      }
    }
    // reset(), not =: yaml-cpp's operator= copies into the target node, and an absent key is an invalid node.
    if (const auto config_node = item["config"]; config_node.IsDefined()) entry.config.reset(config_node);
    if (entry.config.IsDefined() && !entry.config.IsNull() && !entry.config.IsMap()) {
      problems.push_back({path + ".config", lineOf(entry.config), "expected a mapping"});
    }
    config.plugins.push_back(std::move(entry));
  }
}

}  // namespace

NodeConfig loadNodeConfig(const fs::path& file, std::vector<ConfigProblem>& problems) {
  NodeConfig config;
  config.file = file;
  config.base_dir = fs::absolute(file).parent_path().lexically_normal();

  YAML::Node root;
  try {
    if (!fs::exists(file)) {
      problems.push_back({"", 0, "config file not found; pass --config FILE"});
      return config;
    }
    root = YAML::LoadFile(file.string());
  } catch (const YAML::Exception& e) {
    problems.push_back({"", e.mark.line >= 0 ? e.mark.line + 1 : 0, "not valid YAML: " + e.msg});
    return config;
  }
  if (!root.IsMap()) {
    problems.push_back(
        {"", lineOf(root), "expected a mapping with sections node, server, auth, broker, logging, plugins"});
    return config;
  }
  expandEnvironment(root, config.expanded, problems, [](const std::string& name) { return std::getenv(name.c_str()); });

  YAML::Node core_part(YAML::NodeType::Map);
  for (const auto& entry : root) {
    if (entry.first.Scalar() != "plugins") core_part[entry.first] = entry.second;
  }
  // `plugins` is read below with its own rules; it is named in the schema only
  // so that a misspelled top-level key lists it among the allowed ones.
  auto schema = coreConfigSchema();
  schema.push_back({.name = "plugins", .type = plugin::FieldType::Dictionary, .description = "the plugins to load"});
  const auto core = validateAgainstSchema(core_part, schema, "", 1, problems);

  const auto node = core["node"];
  config.node.id = node["id"].as<std::string>("");
  if (config.node.id.empty()) config.node.id = Poco::Environment::nodeName();
  config.node.role = node["role"].as<std::string>("all-in-one");
  config.node.data_dir = resolvePath(config.base_dir, node["data_dir"].as<std::string>("data"));
  for (const auto& dir : node["plugin_dir"]) {
    config.node.plugin_dirs.push_back(resolvePath(config.base_dir, dir.as<std::string>("")));
  }

  const auto server = core["server"];
  config.server.listen = server["listen"].as<std::string>("0.0.0.0");
  config.server.port = server["port"].as<int>(8080);
  config.server.http_threads = server["http_threads"].as<int>(8);
  config.server.max_http_body_bytes = server["max_http_body_bytes"].as<std::size_t>(16u << 20);
  config.server.io_threads = server["io_threads"].as<int>(0);
  if (config.server.io_threads <= 0) {
    // Measured on 2 cores (docs/performance.md): one I/O thread per core but
    // one leaves room for HTTP workers and plugins, and delivers more.
    config.server.io_threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) - 1);
  }
  config.server.heartbeat_interval_seconds = server["heartbeat_interval"].as<int>(30);
  const auto limits = server["limits"];
  auto& out_limits = config.server.limits;
  out_limits.max_connections = limits["max_connections"].as<std::size_t>(out_limits.max_connections);
  out_limits.max_connections_per_ip =
      limits["max_connections_per_ip"].as<std::size_t>(out_limits.max_connections_per_ip);
  out_limits.max_message_bytes = limits["max_message_bytes"].as<std::size_t>(out_limits.max_message_bytes);
  out_limits.outbound_buffer_bytes = limits["outbound_buffer_bytes"].as<std::size_t>(out_limits.outbound_buffer_bytes);
  out_limits.messages_per_second = limits["messages_per_second"].as<std::uint32_t>(out_limits.messages_per_second);
  out_limits.max_subscriptions = limits["max_subscriptions"].as<std::size_t>(out_limits.max_subscriptions);
  out_limits.user_events_per_minute =
      limits["user_events_per_minute"].as<std::uint32_t>(out_limits.user_events_per_minute);
  out_limits.max_http_connections = limits["max_http_connections"].as<std::size_t>(out_limits.max_http_connections);
  out_limits.max_http_connections_per_ip =
      limits["max_http_connections_per_ip"].as<std::size_t>(out_limits.max_http_connections_per_ip);
  out_limits.http_queue = limits["http_queue"].as<std::size_t>(out_limits.http_queue);
  out_limits.http_buffered_bytes = limits["http_buffered_bytes"].as<std::size_t>(out_limits.http_buffered_bytes);
  out_limits.http_header_timeout = std::chrono::seconds(limits["http_header_timeout"].as<long long>(10));
  out_limits.http_idle_timeout = std::chrono::seconds(limits["http_idle_timeout"].as<long long>(30));
  out_limits.http_body_timeout = std::chrono::seconds(limits["http_body_timeout"].as<long long>(60));
  const auto tls = server["tls"];
  config.server.tls.enabled = tls["enabled"].as<bool>(false);
  config.server.tls.cert = resolvePath(config.base_dir, tls["cert"].as<std::string>(""));
  config.server.tls.key = resolvePath(config.base_dir, tls["key"].as<std::string>(""));
  config.server.tls.ca = resolvePath(config.base_dir, tls["ca"].as<std::string>(""));
  if (config.server.tls.enabled && (config.server.tls.cert.empty() || config.server.tls.key.empty())) {
    problems.push_back({"server.tls", lineOf(root["server"]["tls"]), "TLS needs both cert and key (PEM files)"});
  }
  for (const auto& [name, path] :
       {std::pair{"cert", config.server.tls.cert}, std::pair{"key", config.server.tls.key}}) {
    if (config.server.tls.enabled && !path.empty() && !fs::exists(path)) {
      problems.push_back(
          {std::string("server.tls.") + name, lineOf(root["server"]["tls"][name]), "file not found: " + path.string()});
    }
  }

  readAuth(core["auth"], root["auth"], config.base_dir, config.auth, problems);
  readBroker(core["broker"], root["broker"], config.broker, problems);

  const auto logging = core["logging"];
  config.logging.level = logging["level"].as<std::string>("info");
  config.logging.format = logging["format"].as<std::string>("text");
  config.logging.file = resolvePath(config.base_dir, logging["file"].as<std::string>(""));
  for (const auto& entry : logging["levels"]) {
    config.logging.levels[entry.first.Scalar()] = entry.second.as<std::string>("info");
  }

  std::size_t topic_index = 0;
  for (const auto& topic : core["topics"]) {
    const auto index = topic_index++;
    if (!topic.IsMap() || !topic["history"].IsMap()) continue;  // already reported by the schema
    TopicSection section{topic["pattern"].as<std::string>(""), topic["access"].as<std::string>("deny"),
                         topic["history"]["size"].as<std::size_t>(0), topic["history"]["ttl"].as<long long>(0)};
    if (!section.pattern.empty() && !isValidTopicPattern(section.pattern)) {
      problems.push_back(
          {"topics[" + std::to_string(index) + "].pattern", lineOf(root["topics"][index]["pattern"]),
           "'" + section.pattern + "' is not a topic pattern: a topic name, at most one {sub}, * only at the end"});
    }
    config.topics.push_back(std::move(section));
  }

  readPlugins(root["plugins"], config, problems);
  return config;
}

NodeConfig loadNodeConfigOrThrow(const fs::path& file) {
  std::vector<ConfigProblem> problems;
  auto config = loadNodeConfig(file, problems);
  if (!problems.empty()) throw ConfigError(file.string(), std::move(problems));
  return config;
}

}  // namespace eventnode::core
