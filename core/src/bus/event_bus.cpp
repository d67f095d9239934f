#include "bus/event_bus.hpp"

#include <algorithm>
#include <stdexcept>

namespace eventnode::core {

plugin::SubscriptionId EventBus::subscribe(const std::string& pattern, plugin::BusHandler handler,
                                           std::shared_ptr<BusExecutor> executor) {
  if (!isValidTopicPattern(pattern)) {
    throw std::invalid_argument("invalid topic pattern '" + pattern + "': use a topic name, optionally ending in *");
  }
  if (!handler) throw std::invalid_argument("subscribe to '" + pattern + "' needs a handler");
  auto subscription = std::make_shared<Subscription>();
  subscription->pattern = pattern;
  subscription->handler = std::move(handler);
  subscription->on_executor = executor != nullptr;
  subscription->executor = executor;
  std::lock_guard lock(mutex_);
  subscription->id = next_id_++;
  subscriptions_.push_back(subscription);
  return subscription->id;
}

void EventBus::unsubscribe(plugin::SubscriptionId id) {
  std::shared_ptr<Subscription> removed;
  {
    std::lock_guard lock(mutex_);
    const auto it =
        std::find_if(subscriptions_.begin(), subscriptions_.end(), [id](const auto& s) { return s->id == id; });
    if (it == subscriptions_.end()) return;
    removed = *it;
    subscriptions_.erase(it);
  }
  std::lock_guard call_lock(removed->call_mutex);  // waits for a running call to finish
  removed->active = false;
}

void EventBus::publish(const std::string& topic, const plugin::Json& data) {
  if (!isValidTopic(topic)) {
    throw std::invalid_argument("invalid topic '" + topic +
                                "': " + kTopicNameRule);
  }
  std::vector<std::shared_ptr<Subscription>> matching;
  {
    std::lock_guard lock(mutex_);
    for (const auto& s : subscriptions_) {
      if (s->matches(topic)) matching.push_back(s);
    }
  }
  if (matching.empty()) return;
  // One copy of the event, shared by every queued delivery of this publish.
  std::shared_ptr<const plugin::Json> shared;
  std::shared_ptr<const std::string> shared_topic;
  for (const auto& s : matching) {
    if (!s->on_executor) {
      s->call(topic, data);
      continue;
    }
    const auto executor = s->executor.lock();
    if (!executor) continue;  // its owner is gone
    if (!shared) {
      shared = std::make_shared<const plugin::Json>(data);
      shared_topic = std::make_shared<const std::string>(topic);
    }
    executor->post([s, shared, shared_topic] { s->call(*shared_topic, *shared); });
  }
}

void EventBus::Subscription::call(const std::string& topic, const plugin::Json& data) {
  std::lock_guard call_lock(call_mutex);
  if (active) handler(topic, data);
}

bool EventBus::hasSubscriber(const std::string& topic) const {
  std::lock_guard lock(mutex_);
  return std::any_of(subscriptions_.begin(), subscriptions_.end(), [&](const auto& s) { return s->matches(topic); });
}

std::size_t EventBus::subscriptionCount() const {
  std::lock_guard lock(mutex_);
  return subscriptions_.size();
}

std::string EventBus::renderMetrics() const {
  std::vector<std::shared_ptr<BusExecutor>> executors;
  {
    std::lock_guard lock(mutex_);
    for (const auto& s : subscriptions_) {
      auto executor = s->executor.lock();
      if (executor && std::find(executors.begin(), executors.end(), executor) == executors.end()) {
        executors.push_back(std::move(executor));
      }
    }
  }
  std::sort(executors.begin(), executors.end(), [](const auto& a, const auto& b) { return a->owner() < b->owner(); });
  struct Family {
    const char* name;
    const char* type;
    const char* help;
    std::uint64_t (*value)(const BusExecutor::Counts&);
  };
  static constexpr Family kFamilies[] = {
      {"eventnode_bus_handled_total", "counter", "Bus events handled by the subscriber's handlers.",
       [](const BusExecutor::Counts& c) { return c.handled; }},
      {"eventnode_bus_dropped_total", "counter",
       "Bus events dropped for a subscriber because its queue was full (or it was stopping).",
       [](const BusExecutor::Counts& c) { return c.dropped; }},
      {"eventnode_bus_queued", "gauge", "Bus events waiting for the subscriber's thread.",
       [](const BusExecutor::Counts& c) { return static_cast<std::uint64_t>(c.queued); }},
      {"eventnode_bus_queue_capacity", "gauge", "Bus events a subscriber's queue holds at most.",
       [](const BusExecutor::Counts& c) { return static_cast<std::uint64_t>(c.capacity); }},
  };
  std::vector<BusExecutor::Counts> counts;
  counts.reserve(executors.size());
  for (const auto& executor : executors) counts.push_back(executor->counts());
  std::string out;
  for (const auto& family : kFamilies) {
    out += std::string("# HELP ") + family.name + " " + family.help + "\n# TYPE " + family.name + " " + family.type + "\n";
    for (std::size_t i = 0; i < executors.size(); ++i) {
      out += std::string(family.name) + "{subscriber=\"" + executors[i]->owner() + "\"} " +
             std::to_string(family.value(counts[i])) + "\n";
    }
  }
  return out;
}

}  // namespace eventnode::core
