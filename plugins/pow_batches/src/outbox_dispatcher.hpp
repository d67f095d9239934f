#pragma once
// Drains one recorder's outbox in recording order, at least once: a row is
// marked delivered only after the recorder accepted it. HTTP recorders get
// retries with exponential backoff; topic recorders publish on the node's bus.
#include "batch_store.hpp"

#include <eventnode/plugin/host.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
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
  OutboxDispatcher(RecorderConfig config, BatchStore& store, plugin::Host& host);
  ~OutboxDispatcher();

  void start();
  /// Wakes the thread: new rows were recorded.
  void notify();
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

  RecorderConfig config_;
  BatchStore& store_;
  plugin::Host& host_;
  std::shared_ptr<spdlog::logger> logger_;
  std::unique_ptr<Poco::Net::HTTPClientSession> session_;  // used by the dispatcher thread only
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool notified_ = false;
  std::atomic<std::uint64_t> delivered_{0};
  std::thread thread_;
};

}  // namespace eventnode::plugins::pow_batches
