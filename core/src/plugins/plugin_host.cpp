#include "plugins/plugin_host.hpp"

#include <atomic>

namespace eventnode::core {

PluginHost::PluginHost(std::string plugin_name, CoreServices& core)
    : name_(std::move(plugin_name)), core_(core), logger_(core.logs.get("plugin." + name_)) {}

std::filesystem::path PluginHost::dataDir() {
  auto dir = core_.data_dir / name_;
  std::filesystem::create_directories(dir);
  return dir;
}

void PluginHost::publish(const std::string& topic, const plugin::Json& data) { core_.bus.publish(topic, data); }

plugin::SubscriptionId PluginHost::subscribe(const std::string& topic_pattern, plugin::BusHandler handler) {
  auto logger = logger_;
  auto id = core_.bus.subscribe(topic_pattern, [logger, handler = std::move(handler)](const std::string& topic, const plugin::Json& data) {
    try {
      handler(topic, data);
    } catch (const std::exception& e) {
      logger->error("bus handler threw topic={} error=\"{}\"", topic, e.what());
    } catch (...) {
      logger->error("bus handler threw a non-standard exception topic={}", topic);
    }
  });
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

void PluginHost::addHttpRoute(plugin::HttpRoute route) { core_.router.add(std::move(route), name_); }

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
}

}  // namespace eventnode::core
