#include "bus/bus_executor.hpp"

namespace eventnode::core {

BusExecutor::BusExecutor(std::string owner, std::size_t capacity) : owner_(std::move(owner)), capacity_(capacity) {}

BusExecutor::~BusExecutor() {
  stop();
}

bool BusExecutor::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= capacity_) {
      ++dropped_;
      return false;
    }
    queue_.push_back(std::move(task));
    if (!thread_.joinable()) {
      thread_ = std::thread([this] { run(); });
      thread_id_.store(thread_.get_id());
    }
  }
  wake_.notify_one();
  return true;
}

void BusExecutor::stop() {
  std::thread ending;
  std::deque<std::function<void()>> left;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    ending.swap(thread_);
  }
  wake_.notify_one();
  if (ending.joinable()) ending.join();
  {
    std::lock_guard lock(mutex_);
    dropped_ += queue_.size();
    left.swap(queue_);
  }
  // `left` is destroyed here, outside the lock: a task's captures may be large.
}

void BusExecutor::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    auto task = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    task();  // tasks are guarded by their subscriber: they do not throw
    task = nullptr;
    lock.lock();
    ++handled_;
  }
}

BusExecutor::Counts BusExecutor::counts() const {
  std::lock_guard lock(mutex_);
  return {handled_, dropped_, queue_.size(), capacity_};
}

}  // namespace eventnode::core
