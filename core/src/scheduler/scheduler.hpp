#pragma once
// The core's timer thread: one-shot and repeating tasks for the core and plugins.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace eventnode::core {

class Scheduler {
 public:
  using Clock = std::chrono::steady_clock;
  using TaskId = std::uint64_t;

  Scheduler();
  /// Stops the thread; pending tasks are dropped.
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  /// `interval` zero means once. Tasks run on the scheduler thread, one at a time;
  /// they must not throw (wrap them) and should not block.
  TaskId schedule(std::chrono::milliseconds delay, std::chrono::milliseconds interval, std::function<void()> task);
  /// When it returns the task is not running (unless called from the task itself) and never runs again.
  void cancel(TaskId id);
  /// Stops the thread and drops every task. Idempotent.
  void shutdown();

 private:
  struct Task {
    std::chrono::milliseconds interval;
    std::function<void()> run;
  };
  void loop();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::multimap<Clock::time_point, TaskId> due_;
  std::map<TaskId, Task> tasks_;
  TaskId next_id_ = 1;
  TaskId running_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace eventnode::core
