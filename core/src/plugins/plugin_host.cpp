#include "plugins/plugin_host.hpp"

#include <atomic>

namespace eventnode::core {
namespace {

/// Bus events a plugin may have waiting for its handlers; more are dropped and counted.
constexpr std::size_t kBusQueueCapacity = 10'000;

}  // namespace

PluginHost::PluginHost(std::string plugin_name, CoreServices& core)
    : name_(std::move(plugin_name)),
      core_(core),
      logger_(core.logs.get("plugin." + name_)),
      executor_(std::make_shared<BusExecutor>(name_, kBusQueueCapacity)) {}

std::filesystem::path PluginHost::dataDir() {
  auto dir = core_.data_dir / name_;
  std::filesystem::create_directories(dir);
  return dir;
}

plugin::PublishResult PluginHost::publish(const std::string& topic, const plugin::Json& data) {
  return core_.gateway.publish(topic, data);
}

plugin::PublishResult PluginHost::publishText(const std::string& topic, std::string_view json_text) {
  return core_.gateway.publishText(topic, json_text);
}

plugin::PublishResult PluginHost::publishToBus(const std::string& topic, const plugin::Json& data) {
  return core_.gateway.publishToBus(topic, data);
}

plugin::PublishResult PluginHost::sendToUser(const std::string& user, const plugin::Json& data) {
  return core_.gateway.publish("user:" + user, data);
}

plugin::PublishResult PluginHost::sendToAdmins(const plugin::Json& data) {
  return core_.gateway.publish("admins", data);
}

plugin::PublishResult PluginHost::broadcast(const plugin::Json& data) {
  return core_.gateway.publish("broadcast", data);
}

plugin::SendStatus PluginHost::sendToConnection(plugin::ConnectionId id, std::string_view text) {
  return core_.gateway.send(id, text, name_);
}

std::size_t PluginHost::sendToConnections(const std::vector<plugin::ConnectionId>& ids, std::string_view text) {
  return core_.gateway.sendMany(ids, text, name_);
}

bool PluginHost::closeConnection(plugin::ConnectionId id, std::uint16_t code, const std::string& reason) {
  return core_.gateway.close(id, code, reason, name_);
}

std::string PluginHost::metricName(const std::string& name) const {
  if (!isMetricName(name)) {
    throw std::invalid_argument("metric name '" + name + "' of plugin " + name_ + " must match [a-zA-Z_][a-zA-Z0-9_]*");
  }
  return "eventnode_" + name_ + "_" + name;
}

std::shared_ptr<plugin::Counter> PluginHost::counter(const std::string& name, const std::string& help,
                                                     const plugin::MetricLabels& labels) {
  return core_.metrics.counter(name_, metricName(name), help, labels);
}

std::shared_ptr<plugin::Gauge> PluginHost::gauge(const std::string& name, const std::string& help,
                                                 const plugin::MetricLabels& labels) {
  return core_.metrics.gauge(name_, metricName(name), help, labels);
}

std::shared_ptr<plugin::Histogram> PluginHost::histogram(const std::string& name, const std::string& help,
                                                         std::vector<double> bounds,
                                                         const plugin::MetricLabels& labels) {
  return core_.metrics.histogram(name_, metricName(name), help, std::move(bounds), labels);
}

void PluginHost::observe(const std::string& name, const std::string& help, plugin::MetricType type,
                         const plugin::MetricLabels& labels, std::function<double()> read) {
  core_.metrics.observe(name_, metricName(name), help, type, labels, std::move(read));
}

void PluginHost::reportHealth(plugin::HealthState state, const std::string& reason) {
  {
    std::lock_guard lock(mutex_);
    if (health_.state == state && health_.reason == reason) return;
    health_ = {state, reason};
  }
  if (state == plugin::HealthState::Ok) {
    logger_->info("health ok");
  } else {
    logger_->warn("health {} reason=\"{}\"", state == plugin::HealthState::Degraded ? "degraded" : "failing", reason);
  }
}

PluginHealth PluginHost::health() const {
  std::lock_guard lock(mutex_);
  return health_;
}

void PluginHost::addWebSocketEndpoint(plugin::WebSocketEndpoint endpoint) {
  // Each callback is guarded: a throw is logged and closes only that connection.
  auto& gateway = core_.gateway;
  const auto guard = [logger = logger_, &gateway, owner = name_](const char* what, plugin::ConnectionId id,
                                                                 auto&& call) {
    try {
      call();
    } catch (const std::exception& e) {
      logger->error("websocket {} threw connection={} error=\"{}\"", what, id, e.what());
      gateway.close(id, 1011, "internal error", owner);
    } catch (...) {
      logger->error("websocket {} threw a non-standard exception connection={}", what, id);
      gateway.close(id, 1011, "internal error", owner);
    }
  };
  if (auto on_open = std::move(endpoint.on_open)) {
    endpoint.on_open = [guard, on_open](plugin::ConnectionId id, const plugin::Identity& identity) {
      guard("on_open", id, [&] { on_open(id, identity); });
    };
  }
  if (auto on_message = std::move(endpoint.on_message)) {
    endpoint.on_message = [guard, on_message](plugin::ConnectionId id, std::string_view text) {
      guard("on_message", id, [&] { on_message(id, text); });
    };
  }
  if (auto on_close = std::move(endpoint.on_close)) {
    endpoint.on_close = [guard, on_close](plugin::ConnectionId id) { guard("on_close", id, [&] { on_close(id); }); };
  }
  core_.gateway.addEndpoint(std::move(endpoint), name_);
}

void PluginHost::addTopicRule(plugin::TopicRule rule) {
  core_.gateway.addTopicRule(std::move(rule), name_);
}

plugin::SubscriptionId PluginHost::subscribe(const std::string& topic_pattern, plugin::BusHandler handler) {
  auto logger = logger_;
  auto id = core_.bus.subscribe(
      topic_pattern,
      [logger, handler = std::move(handler)](const std::string& topic, const plugin::Json& data) {
        try {
          handler(topic, data);
        } catch (const std::exception& e) {
          logger->error("bus handler threw topic={} error=\"{}\"", topic, e.what());
        } catch (...) {
          logger->error("bus handler threw a non-standard exception topic={}", topic);
        }
      },
      executor_);
  std::lock_guard lock(mutex_);
  subscriptions_.insert(id);
  return id;
}

void PluginHost::unsubscribe(plugin::SubscriptionId id) {
  {
    std::lock_guard lock(mutex_);
    if (!subscriptions_.erase(id)) return;
  }
  core_.bus.unsubscribe(id);
}

void PluginHost::addHttpRoute(plugin::HttpRoute route) {
  core_.router.add(std::move(route), name_);
}

std::function<void()> PluginHost::guarded(std::string what, std::function<void()> task) {
  return [logger = logger_, what = std::move(what), task = std::move(task)] {
    try {
      task();
    } catch (const std::exception& e) {
      logger->error("{} threw error=\"{}\"", what, e.what());
    } catch (...) {
      logger->error("{} threw a non-standard exception", what);
    }
  };
}

plugin::TimerId PluginHost::scheduleEvery(std::chrono::milliseconds interval, std::function<void()> task) {
  if (interval.count() <= 0) throw std::invalid_argument("scheduleEvery needs a positive interval");
  const auto id = core_.scheduler.schedule(interval, interval, guarded("timer", std::move(task)));
  std::lock_guard lock(mutex_);
  timers_.insert(id);
  return id;
}

plugin::TimerId PluginHost::scheduleOnce(std::chrono::milliseconds delay, std::function<void()> task) {
  // A one-shot forgets itself once it ran, so plugins that re-arm timers (reconnect loops) do not grow the set.
  auto own_id = std::make_shared<std::atomic<plugin::TimerId>>(0);
  auto run = [this, own_id, task = guarded("timer", std::move(task))] {
    task();
    std::lock_guard lock(mutex_);
    timers_.erase(own_id->load());
  };
  std::lock_guard lock(mutex_);  // held so the task cannot finish before its id is recorded
  const auto id = core_.scheduler.schedule(delay, std::chrono::milliseconds(0), std::move(run));
  own_id->store(id);
  timers_.insert(id);
  return id;
}

void PluginHost::cancelTimer(plugin::TimerId id) {
  {
    std::lock_guard lock(mutex_);
    timers_.erase(id);
  }
  core_.scheduler.cancel(id);
}

void PluginHost::stopBusDelivery() {
  executor_->stop();
}

void PluginHost::releaseAll() {
  std::set<plugin::SubscriptionId> subscriptions;
  std::set<plugin::TimerId> timers;
  {
    std::lock_guard lock(mutex_);
    subscriptions.swap(subscriptions_);
    timers.swap(timers_);
  }
  for (const auto id : timers) core_.scheduler.cancel(id);
  for (const auto id : subscriptions) core_.bus.unsubscribe(id);
  // The plugin's readers are its code: gone before its library can be.
  core_.metrics.removeOwner(name_);
}

}  // namespace eventnode::core
