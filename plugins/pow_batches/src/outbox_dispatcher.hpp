#pragma once
// Drains one recorder's outbox in recording order, at least once: a row is
// marked delivered only after the recorder accepted it. HTTP recorders get
// retries with exponential backoff; topic recorders publish on the node's bus.
#include "batch_store.hpp"

#include <eventnode/plugin/host.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace Poco::Net {
class HTTPClientSession;
}

namespace eventnode::plugins::pow_batches {

struct RecorderConfig {
  std::string name;
  std::string type;  ///< http or topic
  std::string url;   ///< http: where the JSON is POSTed
  std::chrono::milliseconds timeout{5000};
  std::chrono::milliseconds max_backoff{60000};
};

class OutboxDispatcher {
 public:
  /// `index` is the recorder's place in the store's recorders (RecordedBatch::outbox_seqs).
  OutboxDispatcher(RecorderConfig config, std::size_t index, BatchStore& store, plugin::Host& host);
  ~OutboxDispatcher();

  void start();
  /// Wakes the thread: new rows were recorded.
  void notify();
  /// Newly committed batches, delivered from memory instead of read back (and
  /// parsed again) from the outbox; what does not fit waits in the outbox,
  /// which stays the record of what is delivered. Any thread; wakes the thread.
  void offer(const std::vector<std::shared_ptr<const RecordedBatch>>& batches);
  /// Stops the thread; undelivered rows stay in the outbox for the next start.
  void stop();

  const std::string& name() const { return config_.name; }
  std::uint64_t delivered() const { return delivered_.load(); }

 private:
  void run();
  /// Delivers one row; returns an error message, or "" when accepted.
  std::string deliver(const OutboxRow& row);
  /// Waits `delay` or until stopped; returns false when stopping.
  bool sleepFor(std::chrono::milliseconds delay);

  /// The next rows to deliver: from memory when it holds every row not yet
  /// delivered, else from the outbox.
  std::vector<OutboxRow> nextRows();

  RecorderConfig config_;
  std::size_t index_;
  BatchStore& store_;
  plugin::Host& host_;
  std::shared_ptr<spdlog::logger> logger_;
  std::unique_ptr<Poco::Net::HTTPClientSession> session_;  // used by the dispatcher thread only
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool notified_ = false;
  std::deque<OutboxRow> offered_;  // rows committed since start, in seq order; cleared when it overflows
  bool overflowed_ = false;
  // Dispatcher thread only: reading from the outbox until it is drained once,
  // and the last seq read from it (offered rows up to it are already handled).
  bool from_store_ = true;
  std::int64_t last_read_seq_ = 0;
  std::atomic<std::uint64_t> delivered_{0};
  std::thread thread_;
};

}  // namespace eventnode::plugins::pow_batches
