#pragma once
// One ML node's intake: its own thread, its own WebSocket connection and
// reconnect loop. It receives batches, records each durably through the
// writer and only then acknowledges it. No node's trouble reaches another.
#include "batch_writer.hpp"

#include <eventnode/plugin/backoff.hpp>
#include <eventnode/plugin/json.hpp>

#include <spdlog/logger.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace Poco::Net {
class WebSocket;
}

namespace eventnode::plugins::pow_batches {

struct MlNodeConfig {
  std::string id;
  std::uint64_t node_num = 0;
  std::string url;  ///< http://host:port; the socket path /api/v1/pow/ws is appended
  bool autostart = true;
};

struct IntakeTiming {
  /// After every failure or close: this, plus a uniform random 0..reconnect_jitter (a fixed delay, no doubling).
  std::chrono::milliseconds reconnect_delay{3000};
  std::chrono::milliseconds reconnect_jitter{2000};
  std::chrono::milliseconds dial_timeout{10000};
  std::chrono::seconds ping_interval{30};
  std::chrono::seconds silence_timeout{60};
  std::size_t max_message_bytes = 64u << 20;
  std::size_t max_batch_length = 100000;
};

class MlNodeWorker {
 public:
  MlNodeWorker(MlNodeConfig config, IntakeTiming timing, BatchWriter& writer, std::shared_ptr<spdlog::logger> logger);
  ~MlNodeWorker();

  /// Starts intake (dial, receive, reconnect) unless running. Thread-safe.
  void start();
  /// Stops intake and closes the connection; returns when the thread has ended.
  void stop();

  const MlNodeConfig& config() const { return config_; }
  /// {"id","node_num","url","state","connected_since","reconnects","batches":{"websocket","http"},"invalid_messages","last_error"}
  plugin::Json status() const;
  /// Counts a batch of this node that came over HTTP.
  void countHttpBatch() { http_batches_.fetch_add(1); }

 private:
  void run();
  void serve(Poco::Net::WebSocket& socket);
  /// A batch handed to the writer whose ack waits for its commit.
  struct PendingAck {
    std::future<RecordResult> recorded;
    std::string id;
  };
  /// Validates one text message and submits its batch; nullopt when it is refused.
  std::optional<PendingAck> handleMessage(const std::string& text);
  /// Sends the acks of committed batches, in arrival order; with `wait`, waits for all of them.
  void sendAcks(Poco::Net::WebSocket& socket, std::deque<PendingAck>& pending, bool wait);
  /// Waits up to `micros` for input on the socket or a commit of this node's
  /// batches; true when the socket has something to read.
  bool waitForInput(Poco::Net::WebSocket& socket, long micros);
  bool waitBeforeRedial();
  void setState(const char* state, std::optional<std::string> error = std::nullopt);

  /// An eventfd the writer signals when a batch of this node is committed, so
  /// its ack goes out at once instead of at the next poll. Shared with the
  /// writer's callbacks, which may run after this worker is gone.
  struct Waker;

  MlNodeConfig config_;
  IntakeTiming timing_;
  plugin::Backoff redial_;  // the worker thread's only
  std::shared_ptr<Waker> waker_;
  BatchWriter& writer_;
  std::shared_ptr<spdlog::logger> logger_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool running_ = false;
  std::thread thread_;
  std::string state_ = "stopped";
  std::optional<std::int64_t> connected_since_;
  std::optional<std::string> last_error_;
  std::uint64_t reconnects_ = 0;
  std::atomic<std::uint64_t> ws_batches_{0};
  std::atomic<std::uint64_t> http_batches_{0};
  std::atomic<std::uint64_t> invalid_messages_{0};
};

}  // namespace eventnode::plugins::pow_batches
