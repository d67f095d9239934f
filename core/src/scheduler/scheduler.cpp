#include "scheduler/scheduler.hpp"

namespace eventnode::core {

Scheduler::Scheduler() : thread_([this] { loop(); }) {}

Scheduler::~Scheduler() {
  shutdown();
}

Scheduler::TaskId Scheduler::schedule(std::chrono::milliseconds delay, std::chrono::milliseconds interval,
                                      std::function<void()> task) {
  std::lock_guard lock(mutex_);
  const auto id = next_id_++;
  tasks_.emplace(id, Task{interval, std::move(task)});
  due_.emplace(Clock::now() + delay, id);
  wake_.notify_all();
  return id;
}

void Scheduler::cancel(TaskId id) {
  std::unique_lock lock(mutex_);
  tasks_.erase(id);
  if (std::this_thread::get_id() == thread_.get_id()) return;
  wake_.wait(lock, [&] { return running_ != id; });
}

void Scheduler::shutdown() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
  }
  if (std::this_thread::get_id() == thread_.get_id()) return;  // from a task: the loop exits after it
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mutex_);
  tasks_.clear();
  due_.clear();
}

void Scheduler::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (due_.empty()) {
      wake_.wait(lock);
      continue;
    }
    const auto [when, id] = *due_.begin();
    if (when > Clock::now()) {
      wake_.wait_until(lock, when);
      continue;
    }
    due_.erase(due_.begin());
    const auto it = tasks_.find(id);
    if (it == tasks_.end()) continue;  // cancelled
    auto run = it->second.run;         // copy: cancel() may erase the task while it runs
    const auto interval = it->second.interval;
    if (interval.count() > 0) {
      // A task that fell behind skips the missed runs instead of bursting to catch up.
      const auto now = Clock::now();
      due_.emplace(when + interval > now ? when + interval : now + interval, id);
    } else
      tasks_.erase(it);
    running_ = id;
    lock.unlock();
    run();
    lock.lock();
    running_ = 0;
    wake_.notify_all();
  }
}

}  // namespace eventnode::core
