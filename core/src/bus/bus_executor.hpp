#pragma once
// A subscriber's own thread for its bus handlers. Publishers only queue; the
// handlers of one subscriber run here one at a time, in the order their events
// were queued, never on a publisher's thread and never under a bus lock. So a
// slow handler slows only its own subscriber, and two plugins that publish to
// each other from their handlers cannot deadlock.
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace eventnode::core {

class BusExecutor {
 public:
  /// `owner` names the subscriber in logs and metrics (a plugin's name).
  /// `capacity`: events queued and not yet handled, at most.
  BusExecutor(std::string owner, std::size_t capacity);
  ~BusExecutor();
  BusExecutor(const BusExecutor&) = delete;
  BusExecutor& operator=(const BusExecutor&) = delete;

  const std::string& owner() const { return owner_; }

  /// Queues `task` and returns true; the thread starts on the first post.
  /// Returns false without queueing when `capacity` tasks are waiting already
  /// (the event is dropped for this subscriber and counted), or after stop().
  /// Never blocks on the handlers. Any thread.
  bool post(std::function<void()> task);

  /// Ends the thread after the task it is running, if any, and waits for it;
  /// queued tasks are dropped (and counted). Idempotent. Not from the executor's own thread.
  void stop();

  /// True on the executor's own thread (inside a handler).
  bool onThisThread() const { return std::this_thread::get_id() == thread_id_.load(); }

  struct Counts {
    std::uint64_t handled = 0;
    std::uint64_t dropped = 0;  ///< refused by a full queue, or queued when stop() came
    std::size_t queued = 0;
    std::size_t capacity = 0;
  };
  Counts counts() const;

 private:
  void run();

  const std::string owner_;
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::uint64_t handled_ = 0;
  std::uint64_t dropped_ = 0;
  std::thread thread_;
  std::atomic<std::thread::id> thread_id_{};
};

}  // namespace eventnode::core
