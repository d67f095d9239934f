// The bus with executors: what every plugin subscription gets (event_bus.hpp, bus_executor.hpp).
#include "bus/event_bus.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace eventnode::core {
namespace {

using namespace std::chrono_literals;
using plugin::Json;

constexpr auto kDeadline = 10s;

/// Waits for `condition` with a deadline; true when it held in time.
template <typename Condition>
bool eventually(Condition condition) {
  const auto until = std::chrono::steady_clock::now() + kDeadline;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST(BusExecutor, HandlersRunOnTheSubscribersThreadInPublishOrder) {
  EventBus bus;
  auto executor = std::make_shared<BusExecutor>("sub", 100);
  std::mutex mutex;
  std::vector<int> seen;
  std::vector<std::thread::id> threads;
  bus.subscribe(
      "t",
      [&](const std::string&, const Json& data) {
        std::lock_guard lock(mutex);
        seen.push_back(data.get<int>());
        threads.push_back(std::this_thread::get_id());
      },
      executor);
  for (int i = 0; i < 50; ++i) bus.publish("t", i);
  ASSERT_TRUE(eventually([&] { return executor->counts().handled == 50; }));
  std::lock_guard lock(mutex);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)], i);
  for (const auto& id : threads) EXPECT_NE(id, std::this_thread::get_id());
}

TEST(BusExecutor, ASlowHandlerDoesNotHoldThePublisher) {
  EventBus bus;
  auto executor = std::make_shared<BusExecutor>("slow", 1000);
  std::promise<void> publisher_done;
  auto release = publisher_done.get_future().share();
  std::atomic<int> handled{0};
  bus.subscribe(
      "t",
      [&, release](const std::string&, const Json&) {
        release.wait();  // blocked until the publisher has published everything
        ++handled;
      },
      executor);
  auto publishing = std::async(std::launch::async, [&] {
    for (int i = 0; i < 500; ++i) bus.publish("t", i);
  });
  // Were the handler on the publisher's thread, this would never be ready.
  ASSERT_EQ(publishing.wait_for(kDeadline), std::future_status::ready) << "the publisher waited for the handler";
  publisher_done.set_value();
  ASSERT_TRUE(eventually([&] { return handled.load() == 500; }));
}

TEST(BusExecutor, AFullQueueDropsTheEventForThatSubscriberOnlyAndCountsIt) {
  EventBus bus;
  auto slow = std::make_shared<BusExecutor>("slow", 3);
  auto fast = std::make_shared<BusExecutor>("fast", 100);
  std::promise<void> started_promise;
  std::promise<void> release_promise;
  auto release = release_promise.get_future().share();
  std::atomic<bool> first{true};
  std::atomic<int> slow_handled{0};
  std::atomic<int> fast_handled{0};
  bus.subscribe(
      "t",
      [&, release](const std::string&, const Json&) {
        if (first.exchange(false)) {
          started_promise.set_value();
          release.wait();
        }
        ++slow_handled;
      },
      slow);
  bus.subscribe("t", [&](const std::string&, const Json&) { ++fast_handled; }, fast);
  bus.publish("t", 0);
  ASSERT_EQ(started_promise.get_future().wait_for(kDeadline), std::future_status::ready);
  for (int i = 1; i < 10; ++i) bus.publish("t", i);  // 3 fit in the queue, 6 do not
  EXPECT_EQ(slow->counts().dropped, 6u);
  EXPECT_EQ(slow->counts().queued, 3u);
  release_promise.set_value();
  ASSERT_TRUE(eventually([&] { return slow_handled.load() == 4 && fast_handled.load() == 10; }));
  EXPECT_EQ(fast->counts().dropped, 0u);

  const auto metrics = bus.renderMetrics();
  EXPECT_NE(metrics.find("eventnode_bus_dropped_total{subscriber=\"slow\"} 6\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("eventnode_bus_handled_total{subscriber=\"fast\"} 10\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("# TYPE eventnode_bus_queued gauge\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("eventnode_bus_queue_capacity{subscriber=\"slow\"} 3\n"), std::string::npos) << metrics;
}

TEST(BusExecutor, UnsubscribeWaitsForTheHandlerRunningOnTheExecutorAndNothingRunsAfter) {
  EventBus bus;
  auto executor = std::make_shared<BusExecutor>("sub", 100);
  std::promise<void> started_promise;
  std::atomic<bool> in_handler{false};
  std::atomic<int> calls{0};
  std::atomic<bool> first{true};
  const auto id = bus.subscribe(
      "t",
      [&](const std::string&, const Json&) {
        in_handler = true;
        ++calls;
        if (first.exchange(false)) {
          started_promise.set_value();
          std::this_thread::sleep_for(100ms);
        }
        in_handler = false;
      },
      executor);
  for (int i = 0; i < 5; ++i) bus.publish("t", i);
  ASSERT_EQ(started_promise.get_future().wait_for(kDeadline), std::future_status::ready);
  bus.unsubscribe(id);
  EXPECT_FALSE(in_handler.load()) << "unsubscribe returned while the handler was running";
  const auto after = calls.load();
  bus.publish("t", 99);
  executor->stop();
  EXPECT_EQ(calls.load(), after) << "the queued events of an unsubscribed handler do not run";
}

TEST(BusExecutor, StopDropsWhatIsQueuedAndRefusesWhatComesAfter) {
  EventBus bus;
  auto executor = std::make_shared<BusExecutor>("sub", 100);
  std::promise<void> started_promise;
  std::atomic<bool> first{true};
  bus.subscribe(
      "t",
      [&](const std::string&, const Json&) {
        if (first.exchange(false)) {
          started_promise.set_value();
          std::this_thread::sleep_for(50ms);
        }
      },
      executor);
  for (int i = 0; i < 5; ++i) bus.publish("t", i);
  ASSERT_EQ(started_promise.get_future().wait_for(kDeadline), std::future_status::ready);
  executor->stop();
  bus.publish("t", 5);
  const auto counts = executor->counts();
  EXPECT_EQ(counts.handled + counts.dropped, 6u);
  EXPECT_GE(counts.handled, 1u);
  EXPECT_EQ(counts.queued, 0u);
}

TEST(BusExecutor, AnExecutorWhoseOwnerIsGoneIsSkipped) {
  EventBus bus;
  auto executor = std::make_shared<BusExecutor>("gone", 100);
  bus.subscribe("t", [](const std::string&, const Json&) {}, executor);
  executor.reset();
  bus.publish("t", 1);  // nothing to deliver to, nothing to crash on
  EXPECT_EQ(bus.renderMetrics().find("gone"), std::string::npos);
}

}  // namespace
}  // namespace eventnode::core
