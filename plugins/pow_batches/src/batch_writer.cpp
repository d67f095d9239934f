#include "batch_writer.hpp"

namespace eventnode::plugins::pow_batches {

BatchWriter::BatchWriter(BatchStore& store, std::function<void()> on_recorded)
    : store_(store), on_recorded_(std::move(on_recorded)), thread_([this] { run(); }) {}

BatchWriter::~BatchWriter() {
  stop();
}

std::future<RecordResult> BatchWriter::submit(RecordRequest request) {
  std::promise<RecordResult> promise;
  auto future = promise.get_future();
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      promise.set_exception(std::make_exception_ptr(std::runtime_error("the batch writer is stopping")));
      return future;
    }
    requests_.push_back(std::move(request));
    promises_.push_back(std::move(promise));
  }
  wake_.notify_one();
  return future;
}

void BatchWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void BatchWriter::run() {
  std::vector<RecordRequest> requests;
  std::vector<std::promise<RecordResult>> promises;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !requests_.empty(); });
      if (requests_.empty()) return;  // stopping with nothing left
      requests.swap(requests_);
      promises.swap(promises_);
    }
    std::vector<RecordResult> results;
    try {
      results = store_.record(requests);
    } catch (...) {
      for (auto& promise : promises) promise.set_exception(std::current_exception());
    }
    bool fresh = false;
    for (std::size_t i = 0; i < results.size(); ++i) {
      fresh = fresh || !results[i].duplicate;
      promises[i].set_value(results[i]);
    }
    if (fresh && on_recorded_) on_recorded_();
    requests.clear();
    promises.clear();
  }
}

}  // namespace eventnode::plugins::pow_batches
