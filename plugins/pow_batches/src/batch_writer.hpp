#pragma once
// Group commit: callers on many threads (one per ML node, HTTP workers) hand
// batches to one writer thread, which records everything waiting in a single
// transaction, so one fsync serves many batches. A caller's future resolves
// once its batch is on disk.
#include "batch_store.hpp"

#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace eventnode::plugins::pow_batches {

class BatchWriter {
 public:
  using BatchesRecorded = std::function<void(const std::vector<std::shared_ptr<const RecordedBatch>>&)>;

  /// `on_recorded` runs on the writer thread after each commit with new batches
  /// (wakes the outbox); `on_batches`, when given, then gets those batches, to
  /// hand them to the outbox dispatchers without a read back. Both are called
  /// after the batches' futures are ready, so they never delay an ack.
  BatchWriter(BatchStore& store, std::function<void()> on_recorded, BatchesRecorded on_batches = {});
  ~BatchWriter();

  /// Queues a batch; the future holds its result, or the storage error.
  /// `ready`, when given, runs on the writer thread once the future is ready
  /// (to wake a thread that waits on something else too); keep it short.
  std::future<RecordResult> submit(RecordRequest request, std::function<void()> ready = {});
  /// Records what is queued, then stops the thread. Idempotent.
  void stop();

 private:
  void run();

  BatchStore& store_;
  std::function<void()> on_recorded_;
  BatchesRecorded on_batches_;
  std::mutex mutex_;
  std::condition_variable wake_;
  // Parallel queues: requests go to the store as they are, without a copy.
  std::vector<RecordRequest> requests_;
  std::vector<std::promise<RecordResult>> promises_;
  std::vector<std::function<void()>> ready_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace eventnode::plugins::pow_batches
