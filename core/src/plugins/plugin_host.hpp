#pragma once
// One plugin's Host: forwards to the core services, names everything after
// the plugin, guards every callback so a plugin exception is logged instead of
// unwinding into the core, and remembers what the plugin registered so it can
// all be released when the plugin stops.
#include <eventnode/plugin/host.hpp>

#include "plugins/core_services.hpp"

#include <mutex>
#include <set>

namespace eventnode::core {

/// A plugin's last health report; Ok until its first.
struct PluginHealth {
  plugin::HealthState state = plugin::HealthState::Ok;
  std::string reason;
};

class PluginHost final : public plugin::Host {
 public:
  PluginHost(std::string plugin_name, CoreServices& core);

  std::shared_ptr<spdlog::logger> logger() override { return logger_; }
  std::string nodeId() override { return core_.node_id; }
  std::filesystem::path dataDir() override;

  plugin::PublishResult publish(const std::string& topic, const plugin::Json& data) override;
  plugin::PublishResult publishText(const std::string& topic, std::string_view json_text) override;
  plugin::PublishResult publishToBus(const std::string& topic, const plugin::Json& data) override;
  plugin::PublishResult sendToUser(const std::string& user, const plugin::Json& data) override;
  plugin::PublishResult sendToAdmins(const plugin::Json& data) override;
  plugin::PublishResult broadcast(const plugin::Json& data) override;
  plugin::SendStatus sendToConnection(plugin::ConnectionId id, std::string_view text) override;
  std::size_t sendToConnections(const std::vector<plugin::ConnectionId>& ids, std::string_view text) override;
  bool closeConnection(plugin::ConnectionId id, std::uint16_t code, const std::string& reason) override;
  void addWebSocketEndpoint(plugin::WebSocketEndpoint endpoint) override;
  void addTopicRule(plugin::TopicRule rule) override;
  plugin::SubscriptionId subscribe(const std::string& topic_pattern, plugin::BusHandler handler) override;
  void unsubscribe(plugin::SubscriptionId id) override;

  void addHttpRoute(plugin::HttpRoute route) override;

  plugin::TimerId scheduleEvery(std::chrono::milliseconds interval, std::function<void()> task) override;
  plugin::TimerId scheduleOnce(std::chrono::milliseconds delay, std::function<void()> task) override;
  void cancelTimer(plugin::TimerId id) override;

  std::shared_ptr<plugin::Counter> counter(const std::string& name, const std::string& help,
                                           const plugin::MetricLabels& labels) override;
  std::shared_ptr<plugin::Gauge> gauge(const std::string& name, const std::string& help,
                                       const plugin::MetricLabels& labels) override;
  std::shared_ptr<plugin::Histogram> histogram(const std::string& name, const std::string& help,
                                               std::vector<double> bounds, const plugin::MetricLabels& labels) override;
  void observe(const std::string& name, const std::string& help, plugin::MetricType type,
               const plugin::MetricLabels& labels, std::function<double()> read) override;
  void reportHealth(plugin::HealthState state, const std::string& reason) override;

  /// The plugin's last health report.
  PluginHealth health() const;

  /// Ends bus delivery to the plugin: the handler running finishes, queued
  /// events are dropped. Called before the plugin's stop(), so no handler
  /// runs while the plugin tears down what its handlers use.
  void stopBusDelivery();
  /// Cancels the plugin's remaining timers and subscriptions (after its stop()).
  void releaseAll();

 private:
  std::function<void()> guarded(std::string what, std::function<void()> task);
  /// `eventnode_<plugin>_<name>`; throws std::invalid_argument for a bad name.
  std::string metricName(const std::string& name) const;

  std::string name_;
  CoreServices& core_;
  std::shared_ptr<spdlog::logger> logger_;
  /// The plugin's own thread for its bus handlers (docs/plugins.md, "The bus").
  std::shared_ptr<BusExecutor> executor_;
  mutable std::mutex mutex_;
  PluginHealth health_;
  std::set<plugin::SubscriptionId> subscriptions_;
  std::set<plugin::TimerId> timers_;
};

}  // namespace eventnode::core
