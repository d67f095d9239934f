#include "batch_writer.hpp"

namespace eventnode::plugins::pow_batches {

BatchWriter::BatchWriter(BatchStore& store, std::function<void()> on_recorded, BatchesRecorded on_batches)
    : store_(store),
      on_recorded_(std::move(on_recorded)),
      on_batches_(std::move(on_batches)),
      thread_([this] { run(); }) {}

BatchWriter::~BatchWriter() {
  stop();
}

std::future<RecordResult> BatchWriter::submit(RecordRequest request, std::function<void()> ready) {
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
    ready_.push_back(std::move(ready));
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
  std::vector<std::function<void()>> ready;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !requests_.empty(); });
      if (requests_.empty()) return;  // stopping with nothing left
      requests.swap(requests_);
      promises.swap(promises_);
      ready.swap(ready_);
    }
    std::vector<RecordResult> results;
    std::vector<RecordedBatch> fresh_batches;
    try {
      results = store_.record(requests, on_batches_ ? &fresh_batches : nullptr);
    } catch (...) {
      for (auto& promise : promises) promise.set_exception(std::current_exception());
    }
    bool fresh = false;
    for (std::size_t i = 0; i < results.size(); ++i) {
      fresh = fresh || !results[i].duplicate;
      promises[i].set_value(results[i]);
    }
    for (const auto& callback : ready) {
      if (callback) callback();
    }
    if (!fresh_batches.empty()) {
      std::vector<std::shared_ptr<const RecordedBatch>> shared;
      shared.reserve(fresh_batches.size());
      for (auto& batch : fresh_batches) shared.push_back(std::make_shared<const RecordedBatch>(std::move(batch)));
      on_batches_(shared);
    }
    if (fresh && on_recorded_) on_recorded_();
    requests.clear();
    promises.clear();
    ready.clear();
  }
}

}  // namespace eventnode::plugins::pow_batches
