#pragma once
// The in-process event bus: plugins and the core publish JSON events on named
// topics and subscribe to exact topics or prefixes (`solana:tx:*`).
#include <eventnode/plugin/host.hpp>

#include "bus/bus_executor.hpp"
#include "topics/topic_pattern.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace eventnode::core {

class EventBus {
 public:
  /// With an executor (every plugin's subscriptions), the handler runs on the
  /// executor's thread: publish() only queues the event there, and an event
  /// that finds the executor's queue full is dropped for this subscription and
  /// counted (BusExecutor::counts, /metrics). Without one, the handler runs on
  /// the publisher's thread: only for core parts whose handler just queues.
  /// Either way one call at a time per subscription, in publish order for
  /// publishes from one thread.
  plugin::SubscriptionId subscribe(const std::string& pattern, plugin::BusHandler handler,
                                   std::shared_ptr<BusExecutor> executor = nullptr);
  /// When it returns the handler is not running (unless called from inside it) and will not run again.
  void unsubscribe(plugin::SubscriptionId id);
  /// Delivers to every matching subscription. Throws std::invalid_argument for a bad topic.
  /// Handlers must not throw (the plugin host wraps plugin handlers so they cannot).
  void publish(const std::string& topic, const plugin::Json& data);

  /// True when some subscription's pattern matches `topic` (lets a publisher
  /// skip building data nobody in process would read).
  bool hasSubscriber(const std::string& topic) const;

  std::size_t subscriptionCount() const;

  /// Prometheus text for every executor that has subscriptions: events handled,
  /// dropped, queued, and the queue's capacity, labelled by owner.
  std::string renderMetrics() const;

 private:
  struct Subscription {
    plugin::SubscriptionId id;
    std::string pattern;
    plugin::BusHandler handler;
    /// Weak: the executor's owner (a plugin's host) ends it; queued tasks never keep it alive.
    std::weak_ptr<BusExecutor> executor;
    bool on_executor = false;         ///< false: called on the publisher's thread
    std::recursive_mutex call_mutex;  // recursive: a handler may unsubscribe itself
    bool active = true;

    bool matches(const std::string& topic) const { return topicMatches(pattern, topic); }
    void call(const std::string& topic, const plugin::Json& data);
  };

  mutable std::mutex mutex_;
  plugin::SubscriptionId next_id_ = 1;
  std::vector<std::shared_ptr<Subscription>> subscriptions_;
};

}  // namespace eventnode::core
