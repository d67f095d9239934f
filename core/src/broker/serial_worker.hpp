#pragma once
// One thread that runs jobs in the order they were posted: blocking work
// (a Redis read) that must not run on an I/O thread. Started on first use.
// At most `capacity` jobs wait: clients can post faster than Redis answers,
// and a queue without a cap would grow with them.
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace eventnode::core {

class SerialWorker {
 public:
  explicit SerialWorker(std::size_t capacity) : capacity_(capacity) {}
  ~SerialWorker() { stop(); }
  SerialWorker(const SerialWorker&) = delete;
  SerialWorker& operator=(const SerialWorker&) = delete;

  /// False (the job dropped, not run) when stopped or when `capacity` jobs wait already.
  bool post(std::function<void()> job) {
    {
      std::lock_guard lock(mutex_);
      if (stopped_ || jobs_.size() >= capacity_) return false;
      jobs_.push_back(std::move(job));
      if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    }
    ready_.notify_one();
    return true;
  }

  /// Runs the jobs already posted, then ends the thread; later posts are dropped.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
    }
    ready_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (true) {
      ready_.wait(lock, [this] { return stopped_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  std::thread thread_;
  const std::size_t capacity_;
  bool stopped_ = false;
};

}  // namespace eventnode::core
