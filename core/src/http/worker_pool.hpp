#pragma once
// A fixed set of threads that run queued jobs, with a bounded queue. The HTTP
// server hands them complete requests only, never sockets, so a slow or idle
// client cannot hold a worker; a full queue is refused at once (503) rather
// than grown.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace eventnode::core {

class WorkerPool {
 public:
  WorkerPool(std::string name, std::size_t threads, std::size_t capacity);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  /// Queues `job`; false (nothing queued) when `capacity` jobs already wait or after stop().
  bool trySubmit(std::function<void()> job);
  /// Lets running jobs finish, drops queued ones and joins the threads. Idempotent.
  void stop();
  std::size_t queued() const;

 private:
  void run();

  const std::string name_;
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace eventnode::core
