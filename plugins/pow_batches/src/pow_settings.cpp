#include "pow_settings.hpp"

#include <eventnode/plugin/config_error.hpp>

#include <chrono>
#include <set>
#include <string>

namespace eventnode::plugins::pow_batches {

using std::chrono::milliseconds;
using std::chrono::seconds;

plugin::ConfigBinding<PowSettings> settingsBinding() {
  plugin::ConfigBinding<MlNodeConfig> node;
  node.field("id", &MlNodeConfig::id, "name of the ML node, used in the admin API").required();
  node.field("node_num", &MlNodeConfig::node_num, "the node_id its batches carry").required().minimum(0);
  node.field("url", &MlNodeConfig::url, "base URL, e.g. http://10.0.0.5:8080 (the socket is /api/v1/pow/ws)")
      .required();
  node.field("autostart", &MlNodeConfig::autostart, "start intake when the node starts");

  plugin::ConfigBinding<RecorderConfig> recorder;
  recorder.field("name", &RecorderConfig::name, "names the recorder's outbox").required();
  recorder.field("type", &RecorderConfig::type, "http: POST to url; topic: publish on pow.generated/pow.validated")
      .required()
      .allowed({"http", "topic"});
  recorder.field("url", &RecorderConfig::url, "http: the URL batches are POSTed to");
  recorder.duration<milliseconds>("timeout_ms", &RecorderConfig::timeout, "http: request timeout").minimum(100);
  recorder.duration<milliseconds>("max_backoff_ms", &RecorderConfig::max_backoff, "http: longest wait between retries")
      .minimum(100);

  // The timing keys are flat in the YAML: they reach into IntakeTiming.
  plugin::ConfigBinding<PowSettings> b;
  b.list("nodes", &PowSettings::nodes, "the ML nodes to take batches from", std::move(node));
  b.field(
       "max_batch_length", [](PowSettings & s) -> auto& { return s.timing.max_batch_length; },
       "most entries in nonces, dist, received_dist")
      .minimum(1);
  b.duration<milliseconds>(
       "reconnect_delay_ms", [](PowSettings & s) -> auto& { return s.timing.reconnect_delay; },
       "wait before redialling")
      .minimum(0);
  b.duration<milliseconds>(
       "reconnect_jitter_ms", [](PowSettings & s) -> auto& { return s.timing.reconnect_jitter; },
       "plus a uniform random 0..this")
      .minimum(0);
  b.duration<milliseconds>(
       "dial_timeout_ms", [](PowSettings & s) -> auto& { return s.timing.dial_timeout; },
       "connect and handshake timeout")
      .minimum(100);
  b.duration<seconds>(
       "ping_interval_seconds", [](PowSettings & s) -> auto& { return s.timing.ping_interval; },
       "keepalive ping interval")
      .minimum(1);
  b.duration<seconds>(
       "silence_timeout_seconds", [](PowSettings & s) -> auto& { return s.timing.silence_timeout; },
       "a connection silent this long is dropped and redialled")
      .minimum(1);
  b.field(
       "max_message_bytes", [](PowSettings & s) -> auto& { return s.timing.max_message_bytes; },
       "largest message from an ML node")
      .minimum(1024);
  b.list("recorders", &PowSettings::recorders, "where recorded batches go, each through the durable outbox",
         std::move(recorder));
  return b;
}

PowSettings readSettings(const YAML::Node& config) {
  auto settings = settingsBinding().read(config);
  std::set<std::string> ids;
  std::set<std::uint64_t> nums;
  for (std::size_t i = 0; i < settings.nodes.size(); ++i) {
    const auto& entry = settings.nodes[i];
    const auto at = "nodes[" + std::to_string(i) + "]";
    if (!ids.insert(entry.id).second) {
      throw plugin::ConfigError(at + ".id", "ML node id '" + entry.id + "' is listed twice");
    }
    if (!nums.insert(entry.node_num).second) {
      throw plugin::ConfigError(at + ".node_num", "node_num " + std::to_string(entry.node_num) + " is listed twice");
    }
    if (entry.url.rfind("http://", 0) != 0 && entry.url.rfind("https://", 0) != 0) {
      throw plugin::ConfigError(at + ".url", "the url of '" + entry.id + "' must start with http:// or https://");
    }
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < settings.recorders.size(); ++i) {
    const auto& entry = settings.recorders[i];
    const auto at = "recorders[" + std::to_string(i) + "]";
    if (!names.insert(entry.name).second) {
      throw plugin::ConfigError(at + ".name", "recorder name '" + entry.name + "' is listed twice");
    }
    if (entry.type == "http" && entry.url.rfind("http://", 0) != 0) {
      throw plugin::ConfigError(at + ".url", "recorder '" + entry.name + "' of type http needs an http:// url");
    }
  }
  return settings;
}

}  // namespace eventnode::plugins::pow_batches
