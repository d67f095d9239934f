#include "scheduler/scheduler.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace eventnode::core {
namespace {

using namespace std::chrono_literals;

constexpr auto kDeadline = 10s;

// Each test declares its Scheduler after the state its tasks touch, so the
// scheduler thread is stopped before that state is destroyed.

/// A counter that tests can wait on with a deadline.
class Counter {
 public:
  void increment() {
    std::lock_guard lock(mutex_);
    ++value_;
    changed_.notify_all();
  }
  int value() {
    std::lock_guard lock(mutex_);
    return value_;
  }
  /// True when the count reached `target` before the deadline.
  bool waitFor(int target, std::chrono::milliseconds deadline = kDeadline) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, deadline, [&] { return value_ >= target; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int value_ = 0;
};

/// Schedules a one-shot marker and waits until it has run. Tasks run one at a
/// time in due order, so once a marker due after `t` has run, everything due
/// before `t` has had its chance to run.
void drain(Scheduler& scheduler, std::chrono::milliseconds delay = 0ms) {
  std::promise<void> ran;
  auto future = ran.get_future();
  scheduler.schedule(delay, 0ms, [&ran] { ran.set_value(); });
  ASSERT_EQ(future.wait_for(kDeadline), std::future_status::ready) << "scheduler thread did not run a marker task";
}

TEST(Scheduler, OneShotTaskRunsOnce) {
  Counter runs;
  Scheduler scheduler;
  scheduler.schedule(0ms, 0ms, [&] { runs.increment(); });
  ASSERT_TRUE(runs.waitFor(1));
  drain(scheduler, 20ms);
  drain(scheduler, 20ms);
  EXPECT_EQ(runs.value(), 1);
}

TEST(Scheduler, OneShotTaskWaitsForItsDelay) {
  const auto start = Scheduler::Clock::now();
  std::promise<Scheduler::Clock::time_point> ran_at;
  auto future = ran_at.get_future();
  Scheduler scheduler;
  scheduler.schedule(50ms, 0ms, [&] { ran_at.set_value(Scheduler::Clock::now()); });
  ASSERT_EQ(future.wait_for(kDeadline), std::future_status::ready);
  EXPECT_GE(future.get() - start, 50ms);
}

TEST(Scheduler, TasksRunInDueOrderNotScheduleOrder) {
  std::mutex mutex;
  std::vector<int> order;
  Counter runs;
  const auto record = [&](int n) {
    return [&, n] {
      {
        std::lock_guard lock(mutex);
        order.push_back(n);
      }
      runs.increment();
    };
  };
  Scheduler scheduler;
  scheduler.schedule(60ms, 0ms, record(3));
  scheduler.schedule(0ms, 0ms, record(1));
  scheduler.schedule(30ms, 0ms, record(2));
  ASSERT_TRUE(runs.waitFor(3));
  std::lock_guard lock(mutex);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(Scheduler, RepeatingTaskRunsRepeatedly) {
  Counter runs;
  Scheduler scheduler;
  const auto start = Scheduler::Clock::now();
  scheduler.schedule(0ms, 5ms, [&] { runs.increment(); });
  ASSERT_TRUE(runs.waitFor(5)) << "only " << runs.value() << " runs before the deadline";
  // Five runs 5 ms apart take at least 20 ms.
  EXPECT_GE(Scheduler::Clock::now() - start, 20ms);
}

TEST(Scheduler, CancelBeforeDuePreventsTheRun) {
  Counter runs;
  Scheduler scheduler;
  const auto id = scheduler.schedule(30ms, 0ms, [&] { runs.increment(); });
  scheduler.cancel(id);
  drain(scheduler, 60ms);  // due after the cancelled task would have been
  EXPECT_EQ(runs.value(), 0);
}

TEST(Scheduler, CancelStopsARepeatingTask) {
  Counter runs;
  Scheduler scheduler;
  const auto id = scheduler.schedule(0ms, 2ms, [&] { runs.increment(); });
  ASSERT_TRUE(runs.waitFor(2));
  scheduler.cancel(id);
  const int after_cancel = runs.value();
  drain(scheduler, 20ms);
  drain(scheduler, 20ms);
  EXPECT_EQ(runs.value(), after_cancel);
}

TEST(Scheduler, CancellingAnUnknownOrFinishedTaskIsHarmless) {
  Counter runs;
  Scheduler scheduler;
  const auto id = scheduler.schedule(0ms, 0ms, [&] { runs.increment(); });
  ASSERT_TRUE(runs.waitFor(1));
  scheduler.cancel(id);
  scheduler.cancel(id + 1000);
  drain(scheduler);
}

TEST(Scheduler, CancelWaitsForARunningTask) {
  std::promise<void> entered;
  std::promise<void> release;
  auto release_future = release.get_future();
  std::atomic<bool> task_finished{false};
  Scheduler scheduler;
  const auto id = scheduler.schedule(0ms, 0ms, [&] {
    entered.set_value();
    release_future.wait();
    task_finished = true;
  });
  ASSERT_EQ(entered.get_future().wait_for(kDeadline), std::future_status::ready);

  std::atomic<bool> finished_when_cancel_returned{false};
  auto cancelled = std::async(std::launch::async, [&] {
    scheduler.cancel(id);
    finished_when_cancel_returned = task_finished.load();
  });
  // The task is blocked, so cancel must still be waiting.
  EXPECT_EQ(cancelled.wait_for(100ms), std::future_status::timeout);
  release.set_value();
  ASSERT_EQ(cancelled.wait_for(kDeadline), std::future_status::ready);
  cancelled.get();
  EXPECT_TRUE(finished_when_cancel_returned);
}

TEST(Scheduler, CancelOfARunningRepeatingTaskAlsoStopsFutureRuns) {
  Counter runs;
  std::promise<void> entered;
  std::promise<void> release;
  auto release_future = release.get_future().share();
  std::atomic<bool> first{true};
  Scheduler scheduler;
  const auto id = scheduler.schedule(0ms, 1ms, [&] {
    runs.increment();
    if (first.exchange(false)) {
      entered.set_value();
      release_future.wait();
    }
  });
  ASSERT_EQ(entered.get_future().wait_for(kDeadline), std::future_status::ready);
  auto cancelled = std::async(std::launch::async, [&] { scheduler.cancel(id); });
  EXPECT_EQ(cancelled.wait_for(50ms), std::future_status::timeout);
  release.set_value();
  ASSERT_EQ(cancelled.wait_for(kDeadline), std::future_status::ready);
  drain(scheduler, 10ms);
  drain(scheduler, 10ms);
  EXPECT_EQ(runs.value(), 1);
}

TEST(Scheduler, TaskMayCancelItself) {
  Counter runs;
  std::atomic<Scheduler::TaskId> self{0};
  std::promise<void> scheduled;
  auto scheduled_future = scheduled.get_future().share();
  Scheduler scheduler;
  self = scheduler.schedule(0ms, 1ms, [&] {
    scheduled_future.wait();  // `self` is set before the first run reads it
    runs.increment();
    if (runs.value() == 3) scheduler.cancel(self.load());
  });
  scheduled.set_value();
  ASSERT_TRUE(runs.waitFor(3));
  drain(scheduler, 10ms);
  drain(scheduler, 10ms);
  EXPECT_EQ(runs.value(), 3);
}

TEST(Scheduler, TaskMayScheduleAnotherTask) {
  Counter runs;
  Scheduler scheduler;
  scheduler.schedule(0ms, 0ms, [&] { scheduler.schedule(0ms, 0ms, [&] { runs.increment(); }); });
  EXPECT_TRUE(runs.waitFor(1));
}

TEST(Scheduler, ShutdownIsIdempotentAndDropsPendingTasks) {
  Counter runs;
  {
    Scheduler scheduler;
    scheduler.schedule(1h, 0ms, [&] { runs.increment(); });
    scheduler.schedule(0ms, 0ms, [&] { runs.increment(); });
    ASSERT_TRUE(runs.waitFor(1));
    scheduler.shutdown();
    scheduler.shutdown();
    // Cancelling after shutdown must not block.
    auto cancelled = std::async(std::launch::async, [&] { scheduler.cancel(1); });
    EXPECT_EQ(cancelled.wait_for(kDeadline), std::future_status::ready);
  }  // the destructor shuts down a third time
  EXPECT_EQ(runs.value(), 1);
}

TEST(Scheduler, ShutdownWithAPendingLongDelayReturnsPromptly) {
  Scheduler scheduler;
  scheduler.schedule(24h, 0ms, [] {});
  auto stopped = std::async(std::launch::async, [&] { scheduler.shutdown(); });
  EXPECT_EQ(stopped.wait_for(kDeadline), std::future_status::ready);
}

TEST(Scheduler, TasksScheduledFromSeveralThreadsAllRun) {
  Counter runs;
  Scheduler scheduler;
  constexpr int kThreads = 4;
  constexpr int kEach = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i)
        scheduler.schedule(std::chrono::milliseconds(i % 5), 0ms, [&] { runs.increment(); });
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_TRUE(runs.waitFor(kThreads * kEach)) << runs.value();
}

}  // namespace
}  // namespace eventnode::core
