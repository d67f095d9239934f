#include "bus/event_bus.hpp"

#include <algorithm>
#include <stdexcept>

namespace eventnode::core {

bool isValidTopic(std::string_view topic) {
  if (topic.empty() || topic.size() > 256) return false;
  return std::all_of(topic.begin(), topic.end(),
                     [](char c) { return c > ' ' && c < 127 && c != '*' && c != ',' && c != '"' && c != '\\'; });
}

plugin::SubscriptionId EventBus::subscribe(const std::string& pattern, plugin::BusHandler handler) {
  const bool exact = pattern.empty() || pattern.back() != '*';
  const auto prefix = exact ? pattern : pattern.substr(0, pattern.size() - 1);
  if (exact ? !isValidTopic(prefix) : (!prefix.empty() && !isValidTopic(prefix))) {
    throw std::invalid_argument("invalid topic pattern '" + pattern + "': use a topic name, optionally ending in *");
  }
  if (!handler) throw std::invalid_argument("subscribe to '" + pattern + "' needs a handler");
  auto subscription = std::make_shared<Subscription>();
  subscription->prefix = prefix;
  subscription->exact = exact;
  subscription->handler = std::move(handler);
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
  for (const auto& s : matching) {
    std::lock_guard call_lock(s->call_mutex);
    if (s->active) s->handler(topic, data);
  }
}

bool EventBus::hasSubscriber(const std::string& topic) const {
  std::lock_guard lock(mutex_);
  return std::any_of(subscriptions_.begin(), subscriptions_.end(), [&](const auto& s) { return s->matches(topic); });
}

std::size_t EventBus::subscriptionCount() const {
  std::lock_guard lock(mutex_);
  return subscriptions_.size();
}

}  // namespace eventnode::core
