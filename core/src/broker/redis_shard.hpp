#pragma once
// One Redis instance of the broker and the three connections this process
// keeps to it:
//  - the writer: publishes from any thread, pipelined (every request waiting
//    when a round trip starts goes in it), each caller waiting for its reply;
//  - the subscriber: PSUBSCRIBEs to every topic and bus channel and hands
//    each message to the sink on its own thread, in the order Redis sent them;
//  - the reader: history and position reads, one caller at a time.
// Each reconnects on its own with backoff and jitter; while the writer is
// down, publishes fail at once with the reason rather than wait. The writer
// and the reader check before each use that Redis has not closed them while
// idle (a restart), so the first request after a restart does not fail.
#include "broker/redis_link.hpp"

#include <eventnode/plugin/backoff.hpp>
#include <spdlog/logger.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace eventnode::core {

/// What the subscriber connection receives, handed over on its thread.
class BrokerSink {
 public:
  virtual ~BrokerSink() = default;
  /// A publication on `topic`: offset and epoch from Redis; `live` false for one recorded only.
  virtual void onPublication(std::size_t shard, const std::string& topic, std::uint64_t offset,
                             const std::string& epoch, bool live, std::string_view data) = 0;
  virtual void onBusMessage(const std::string& topic, std::string_view data) = 0;
  /// The subscriber is (again) subscribed: what was published while it was not must be caught up.
  virtual void onSubscribed(std::size_t shard) = 0;
};

struct RedisShardSettings {
  std::string prefix;
  std::chrono::milliseconds timeout{2000};
};

class RedisShard {
 public:
  RedisShard(std::size_t index, RedisEndpoint endpoint, RedisShardSettings settings, BrokerSink& sink,
             std::shared_ptr<spdlog::logger> logger);
  ~RedisShard();
  RedisShard(const RedisShard&) = delete;
  RedisShard& operator=(const RedisShard&) = delete;

  void start();
  void stop();

  /// Runs one command through the writer and returns its reply. Throws
  /// RedisError at once while the writer is not connected, or when the
  /// connection fails before the reply arrives.
  RedisReply call(RedisCommand argv);
  /// Queues a command without waking the writer (kick() does): several
  /// callers' commands then go out in one pipelined round trip. Throws
  /// RedisError at once while the writer is not connected.
  std::future<RedisReply> submit(RedisCommand argv);
  /// Wakes the writer for what submit() queued.
  void kick() { queue_ready_.notify_one(); }
  /// Runs a command on the reader connection (connecting first if needed). Throws RedisError.
  RedisReply query(const RedisCommand& argv);

  /// EVALSHA of a script loaded on every (re)connect of the writer and the reader.
  static RedisCommand evalsha(const std::string& sha, std::vector<std::string> keys, std::vector<std::string> args);
  const std::string& publishSha() const { return publish_sha_; }
  const std::string& readSha() const { return read_sha_; }

  std::size_t index() const { return index_; }
  const RedisEndpoint& endpoint() const { return endpoint_; }
  /// Both the writer and the subscriber connected.
  bool healthy() const { return writer_up_.load() && subscriber_up_.load(); }
  /// The subscriber is connected: this process hears every publication of the shard's topics.
  bool subscribed() const { return subscriber_up_.load(); }
  /// The writer is connected: publishes and reads have a chance.
  bool reachable() const { return writer_up_.load(); }
  /// Why it is not healthy (the last error seen), or empty.
  std::string reason() const;

 private:
  struct Request {
    RedisCommand argv;
    std::promise<RedisReply> reply;
  };

  void runWriter();
  void runSubscriber();
  void connectWriter(RedisLink& link);
  void loadScripts(RedisLink& link);
  void reloadLostScripts(RedisLink& link);
  /// The writer's batch: commands refused with NOSCRIPT ran nothing; loads the
  /// scripts and sends those again, in their order.
  void rerunWithoutScripts(RedisLink& link, const std::vector<RedisCommand>& commands,
                           std::vector<RedisReply>& replies);
  void setReason(std::string reason);
  void failAll(std::deque<std::unique_ptr<Request>>& requests, const std::string& reason);
  /// Sleeps up to `delay`, waking early on stop(). False once stopping.
  bool pause(std::chrono::milliseconds delay);

  const std::size_t index_;
  const RedisEndpoint endpoint_;
  const RedisShardSettings settings_;
  BrokerSink& sink_;
  std::shared_ptr<spdlog::logger> logger_;
  std::string publish_sha_;
  std::string read_sha_;

  std::atomic<bool> running_{false};
  std::atomic<bool> writer_up_{false};
  std::atomic<bool> first_attempt_done_{false};
  std::atomic<bool> subscriber_up_{false};
  mutable std::mutex reason_mutex_;
  std::string reason_ = "not connected yet";

  std::mutex queue_mutex_;
  std::condition_variable queue_ready_;
  std::deque<std::unique_ptr<Request>> queue_;

  std::mutex reader_mutex_;
  RedisLink reader_;

  std::mutex pause_mutex_;
  std::condition_variable pause_wake_;

  std::thread writer_thread_;
  std::thread subscriber_thread_;
};

}  // namespace eventnode::core
