#include "bus/event_bus.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <future>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace eventnode::core {
namespace {

using namespace std::chrono_literals;
using plugin::Json;

constexpr auto kDeadline = 10s;

/// Collects what a handler received; safe to read once publishing is over.
struct Received {
  std::mutex mutex;
  std::vector<std::pair<std::string, Json>> events;

  plugin::BusHandler handler() {
    return [this](const std::string& topic, const Json& data) {
      std::lock_guard lock(mutex);
      events.emplace_back(topic, data);
    };
  }
  std::vector<std::string> topics() {
    std::lock_guard lock(mutex);
    std::vector<std::string> out;
    for (const auto& [topic, data] : events) out.push_back(topic);
    return out;
  }
};

/// Runs `body` on its own thread and fails loudly if it has not finished by the
/// deadline (a deadlock would otherwise hang the whole test binary).
void runWithDeadline(const std::function<void()>& body, const char* what) {
  std::promise<void> done;
  auto finished = done.get_future();
  std::thread thread([&] {
    body();
    done.set_value();
  });
  if (finished.wait_for(kDeadline) != std::future_status::ready) {
    std::cerr << "deadlock: " << what << " did not finish within the deadline\n";
    std::abort();
  }
  thread.join();
}

TEST(EventBus, ExactSubscriptionReceivesOnlyItsTopic) {
  EventBus bus;
  Received received;
  bus.subscribe("meter:reading", received.handler());
  bus.publish("meter:reading", Json{{"value", 42}});
  bus.publish("meter:readings", Json{{"value", 1}});
  bus.publish("meter", Json{{"value", 2}});
  bus.publish("other", Json{{"value", 3}});
  ASSERT_EQ(received.events.size(), 1u);
  EXPECT_EQ(received.events[0].first, "meter:reading");
  EXPECT_EQ(received.events[0].second, (Json{{"value", 42}}));
}

TEST(EventBus, PrefixSubscriptionReceivesEveryTopicStartingWithThePrefix) {
  EventBus bus;
  Received received;
  bus.subscribe("solana:tx:*", received.handler());
  for (const std::string topic :
       {"solana:tx:abc", "solana:tx:", "solana:tx:a:b:c", "solana:txs", "solana:block", "x:solana:tx:1"}) {
    bus.publish(topic, Json::object());
  }
  EXPECT_EQ(received.topics(), (std::vector<std::string>{"solana:tx:abc", "solana:tx:", "solana:tx:a:b:c"}));
}

TEST(EventBus, LoneStarSubscriptionReceivesEveryTopic) {
  EventBus bus;
  Received received;
  bus.subscribe("*", received.handler());
  bus.publish("a", Json(1));
  bus.publish("b:c", Json(2));
  EXPECT_EQ(received.topics(), (std::vector<std::string>{"a", "b:c"}));
}

TEST(EventBus, HasSubscriberAnswersForExactAndPrefixPatternsAndForgetsUnsubscribed) {
  EventBus bus;
  EXPECT_FALSE(bus.hasSubscriber("pow.generated"));
  const auto exact = bus.subscribe("pow.generated", [](const std::string&, const Json&) {});
  bus.subscribe("solana:tx:*", [](const std::string&, const Json&) {});
  EXPECT_TRUE(bus.hasSubscriber("pow.generated"));
  EXPECT_FALSE(bus.hasSubscriber("pow.validated"));
  EXPECT_TRUE(bus.hasSubscriber("solana:tx:abc"));
  EXPECT_FALSE(bus.hasSubscriber("solana:program:abc"));
  bus.unsubscribe(exact);
  EXPECT_FALSE(bus.hasSubscriber("pow.generated"));
}

TEST(EventBus, EveryMatchingSubscriptionReceivesTheEvent) {
  EventBus bus;
  Received exact;
  Received prefix;
  Received all;
  Received unrelated;
  bus.subscribe("pow:batch:done", exact.handler());
  bus.subscribe("pow:*", prefix.handler());
  bus.subscribe("*", all.handler());
  bus.subscribe("utxo:*", unrelated.handler());
  bus.publish("pow:batch:done", Json{{"id", 7}});
  EXPECT_EQ(exact.topics().size(), 1u);
  EXPECT_EQ(prefix.topics().size(), 1u);
  EXPECT_EQ(all.topics().size(), 1u);
  EXPECT_TRUE(unrelated.topics().empty());
}

TEST(EventBus, EventsFromOneThreadArriveInPublishOrder) {
  EventBus bus;
  std::vector<int> seen;
  bus.subscribe("seq", [&](const std::string&, const Json& data) { seen.push_back(data.get<int>()); });
  std::vector<int> expected;
  for (int i = 0; i < 100; ++i) {
    bus.publish("seq", Json(i));
    expected.push_back(i);
  }
  EXPECT_EQ(seen, expected);
}

TEST(EventBus, SubscriptionIdsAreDistinctAndCounted) {
  EventBus bus;
  const auto a = bus.subscribe("a", [](const std::string&, const Json&) {});
  const auto b = bus.subscribe("a", [](const std::string&, const Json&) {});
  const auto c = bus.subscribe("b*", [](const std::string&, const Json&) {});
  EXPECT_NE(a, b);
  EXPECT_NE(b, c);
  EXPECT_NE(a, c);
  EXPECT_EQ(bus.subscriptionCount(), 3u);
}

TEST(EventBus, UnsubscribeStopsDelivery) {
  EventBus bus;
  Received kept;
  Received dropped;
  bus.subscribe("t", kept.handler());
  const auto id = bus.subscribe("t", dropped.handler());
  bus.publish("t", Json(1));
  bus.unsubscribe(id);
  EXPECT_EQ(bus.subscriptionCount(), 1u);
  bus.publish("t", Json(2));
  EXPECT_EQ(kept.topics().size(), 2u);
  EXPECT_EQ(dropped.topics().size(), 1u);
}

TEST(EventBus, UnsubscribingAnUnknownIdOrTwiceIsHarmless) {
  EventBus bus;
  const auto id = bus.subscribe("t", [](const std::string&, const Json&) {});
  bus.unsubscribe(id + 1000);
  EXPECT_EQ(bus.subscriptionCount(), 1u);
  bus.unsubscribe(id);
  bus.unsubscribe(id);
  EXPECT_EQ(bus.subscriptionCount(), 0u);
}

TEST(EventBus, HandlerMayUnsubscribeItselfWithoutDeadlock) {
  EventBus bus;
  std::atomic<plugin::SubscriptionId> self{0};
  int calls = 0;
  self = bus.subscribe("t", [&](const std::string&, const Json&) {
    ++calls;
    bus.unsubscribe(self.load());
  });
  runWithDeadline([&] { bus.publish("t", Json(1)); }, "publish to a handler that unsubscribes itself");
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(bus.subscriptionCount(), 0u);
  bus.publish("t", Json(2));
  EXPECT_EQ(calls, 1);
}

TEST(EventBus, HandlerMayUnsubscribeAnotherSubscriptionThatThenGetsNothing) {
  EventBus bus;
  Received second;
  plugin::SubscriptionId second_id = 0;
  bus.subscribe("t", [&](const std::string&, const Json&) { bus.unsubscribe(second_id); });
  second_id = bus.subscribe("t", second.handler());
  runWithDeadline([&] { bus.publish("t", Json(1)); }, "publish to a handler that unsubscribes another");
  // The second subscription was matched before it was removed, but it is
  // removed before its turn comes, so it must not run.
  EXPECT_TRUE(second.topics().empty());
}

TEST(EventBus, HandlerMaySubscribeAndPublishFromInsideAHandler) {
  EventBus bus;
  Received late;
  Received chained;
  bus.subscribe("chain:out", chained.handler());
  bus.subscribe("chain:in", [&](const std::string&, const Json& data) {
    bus.subscribe("chain:in", late.handler());
    bus.publish("chain:out", data);
  });
  runWithDeadline([&] { bus.publish("chain:in", Json(5)); }, "publish from inside a handler");
  EXPECT_EQ(chained.topics(), (std::vector<std::string>{"chain:out"}));
  // Subscribed during the publish: it sees the next event, not the current one.
  EXPECT_TRUE(late.topics().empty());
  bus.publish("chain:in", Json(6));
  EXPECT_EQ(late.topics().size(), 1u);
}

TEST(EventBus, InvalidTopicsArePublishedWithInvalidArgument) {
  EventBus bus;
  const std::vector<std::string> bad{"",
                                     "with space",
                                     "star*",
                                     "*",
                                     "com,ma",
                                     "quo\"te",
                                     "back\\slash",
                                     "tab\there",
                                     "new\nline",
                                     std::string(257, 'a'),
                                     std::string("nul\0byte", 8),
                                     "del\x7f",
                                     "high\x80"};
  for (const auto& topic : bad) {
    SCOPED_TRACE(topic);
    EXPECT_FALSE(isValidTopic(topic));
    EXPECT_THROW(bus.publish(topic, Json::object()), std::invalid_argument);
  }
}

TEST(EventBus, ValidTopicsAreAccepted) {
  EventBus bus;
  for (const std::string& topic :
       std::vector<std::string>{"a", "solana:tx:abc", "a.b-c_d/e", "~!@#$%^&()[]{}<>?", std::string(256, 'z')}) {
    SCOPED_TRACE(topic);
    EXPECT_TRUE(isValidTopic(topic));
    EXPECT_NO_THROW(bus.publish(topic, Json::object()));
  }
}

TEST(EventBus, InvalidPatternsAreRefusedWithInvalidArgument) {
  EventBus bus;
  for (const std::string& pattern :
       std::vector<std::string>{"", "a b", "a b*", "a*b", "**", "*a", "a,*", "x\\*", std::string(257, 'a')}) {
    SCOPED_TRACE(pattern);
    EXPECT_THROW(bus.subscribe(pattern, [](const std::string&, const Json&) {}), std::invalid_argument);
  }
  EXPECT_EQ(bus.subscriptionCount(), 0u);
}

TEST(EventBus, SubscribeWithoutHandlerIsRefused) {
  EventBus bus;
  EXPECT_THROW(bus.subscribe("t", plugin::BusHandler{}), std::invalid_argument);
  EXPECT_EQ(bus.subscriptionCount(), 0u);
}

TEST(EventBus, UnsubscribeWaitsForAHandlerRunningOnAnotherThread) {
  EventBus bus;
  std::promise<void> entered;
  std::promise<void> release;
  auto release_future = release.get_future().share();
  std::atomic<bool> handler_finished{false};
  std::atomic<int> calls{0};
  const auto id = bus.subscribe("slow", [&](const std::string&, const Json&) {
    if (calls++ == 0) {
      entered.set_value();
      release_future.wait();
      handler_finished = true;
    }
  });

  std::thread publisher([&] { bus.publish("slow", Json(1)); });
  ASSERT_EQ(entered.get_future().wait_for(kDeadline), std::future_status::ready);

  std::atomic<bool> finished_when_unsubscribe_returned{false};
  auto unsubscribed = std::async(std::launch::async, [&] {
    bus.unsubscribe(id);
    finished_when_unsubscribe_returned = handler_finished.load();
  });
  // The handler is blocked, so unsubscribe must still be waiting.
  EXPECT_EQ(unsubscribed.wait_for(100ms), std::future_status::timeout);

  release.set_value();
  ASSERT_EQ(unsubscribed.wait_for(kDeadline), std::future_status::ready);
  unsubscribed.get();
  publisher.join();
  EXPECT_TRUE(finished_when_unsubscribe_returned);

  bus.publish("slow", Json(2));
  EXPECT_EQ(calls, 1);
}

TEST(EventBus, OneSubscriptionIsCalledOneAtATimeFromManyPublishers) {
  EventBus bus;
  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};
  std::atomic<int> calls{0};
  bus.subscribe("busy", [&](const std::string&, const Json&) {
    const int now = ++in_flight;
    int seen = max_in_flight.load();
    while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
    }
    ++calls;
    --in_flight;
  });
  constexpr int kThreads = 4;
  constexpr int kEach = 500;
  std::vector<std::thread> publishers;
  for (int t = 0; t < kThreads; ++t) {
    publishers.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) bus.publish("busy", Json(i));
    });
  }
  for (auto& thread : publishers) thread.join();
  EXPECT_EQ(calls, kThreads * kEach);
  EXPECT_EQ(max_in_flight, 1);
}

}  // namespace
}  // namespace eventnode::core
