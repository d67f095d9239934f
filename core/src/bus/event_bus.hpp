#pragma once
// The in-process event bus: plugins and the core publish JSON events on named
// topics and subscribe to exact topics or prefixes (`solana:tx:*`).
#include <eventnode/plugin/host.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace eventnode::core {

/// Topic names: 1..256 printable ASCII characters other than space, `*`, `,`, `"` and `\`.
bool isValidTopic(std::string_view topic);

/// The topic name rule, as error messages state it.
inline constexpr const char* kTopicNameRule = "1 to 256 printable characters without space, *, comma, quote or backslash";

class EventBus {
 public:
  /// Handlers are called on the publisher's thread, one call at a time per
  /// subscription, in publish order for publishes from one thread.
  plugin::SubscriptionId subscribe(const std::string& pattern, plugin::BusHandler handler);
  /// When it returns the handler is not running (unless called from inside it) and will not run again.
  void unsubscribe(plugin::SubscriptionId id);
  /// Delivers to every matching subscription. Throws std::invalid_argument for a bad topic.
  /// Handlers must not throw (the plugin host wraps plugin handlers so they cannot).
  void publish(const std::string& topic, const plugin::Json& data);

  /// True when some subscription's pattern matches `topic` (lets a publisher
  /// skip building data nobody in process would read).
  bool hasSubscriber(const std::string& topic) const;

  std::size_t subscriptionCount() const;

 private:
  struct Subscription {
    plugin::SubscriptionId id;
    std::string prefix;
    bool exact;
    plugin::BusHandler handler;
    std::recursive_mutex call_mutex;  // recursive: a handler may unsubscribe itself
    bool active = true;

    bool matches(const std::string& topic) const {
      return exact ? topic == prefix : topic.compare(0, prefix.size(), prefix) == 0;
    }
  };

  mutable std::mutex mutex_;
  plugin::SubscriptionId next_id_ = 1;
  std::vector<std::shared_ptr<Subscription>> subscriptions_;
};

}  // namespace eventnode::core
