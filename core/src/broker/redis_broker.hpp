#pragma once
// The Redis broker: the topics' offsets, epochs and history, and the pub/sub
// that carries every publication to every process, spread over one or more
// Redis instances (shards) by a hash of the topic name. Server heartbeats
// live on the first shard.
#include "broker/redis_shard.hpp"

#include <eventnode/plugin/json.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace eventnode::core {

struct RedisBrokerSettings {
  std::vector<RedisEndpoint> shards;
  std::string prefix = "eventnode";
  std::chrono::milliseconds timeout{2000};
  std::chrono::seconds heartbeat_ttl{9};
  /// How long a topic's position (epoch, offset) outlives its last publication.
  std::chrono::seconds meta_ttl{30 * 24 * 3600};
};

/// A publish could not be made durable: the reason names the shard and the error.
class BrokerUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct BrokerPosition {
  std::uint64_t offset = 0;
  std::string epoch;
};

struct BrokerEntry {
  std::uint64_t offset = 0;
  bool live = true;
  std::string data;
};

/// A topic's position and the history entries from a given offset on.
struct BrokerHistory {
  BrokerPosition top;
  std::vector<BrokerEntry> entries;
};

class RedisBroker {
 public:
  RedisBroker(RedisBrokerSettings settings, BrokerSink& sink, std::shared_ptr<spdlog::logger> logger);
  ~RedisBroker();

  void start();
  void stop();

  /// Appends to the topic's history and publishes it, in one step in Redis.
  /// Throws BrokerUnavailable when the topic's shard cannot take it. With an
  /// `idempotency_key`, a repeat within 5 minutes publishes nothing and gets
  /// the first one's position: a producer retrying after an answer it never
  /// got (Redis went down between doing and answering) records the event once.
  BrokerPosition publish(const std::string& topic, std::string_view data, std::size_t history_size,
                         std::chrono::seconds history_ttl, bool live, const std::string& idempotency_key = {});
  /// publish() in two halves, for a batch: queue each event (throws
  /// BrokerUnavailable when its shard is down), kickAll() once, then finish()
  /// each in order (throws BrokerUnavailable).
  struct Pending {
    std::future<RedisReply> reply;
    std::size_t shard = 0;
  };
  Pending publishAsync(const std::string& topic, std::string_view data, std::size_t history_size,
                       std::chrono::seconds history_ttl, bool live, const std::string& idempotency_key = {});
  void kickAll();
  BrokerPosition finish(Pending& pending);
  /// A bus-only publication (no history, no offset). Throws BrokerUnavailable.
  void publishBus(const std::string& topic, std::string_view data);
  /// The topic's position and up to `limit` entries from offset `from` on
  /// (from 0: the position only). Throws BrokerUnavailable.
  BrokerHistory read(const std::string& topic, std::uint64_t from, std::size_t limit);

  /// Stores this server's description under its heartbeat key, expiring after the TTL.
  void heartbeat(const std::string& server_id, const plugin::Json& description);
  /// Forgets this server at once (a clean stop).
  void forgetServer(const std::string& server_id);
  /// The descriptions of the servers whose heartbeat has not expired. Throws BrokerUnavailable.
  std::vector<plugin::Json> servers();

  /// {"type":"redis","state":"ok|degraded|failing","shards":[{url,state,reason?}]}
  plugin::Json health() const;
  bool healthy() const;
  /// This process hears every publication of the topic now (its shard's subscriber is connected).
  bool hearing(const std::string& topic) const { return shards_[shardOf(topic)]->subscribed(); }
  /// The topic's shard is connected for publishing and reading.
  bool reachable(const std::string& topic) const { return shards_[shardOf(topic)]->reachable(); }
  std::size_t shardOf(const std::string& topic) const;
  std::size_t shardCount() const { return shards_.size(); }
  const RedisBrokerSettings& settings() const { return settings_; }

 private:
  RedisShard& shardFor(const std::string& topic) { return *shards_[shardOf(topic)]; }

  RedisBrokerSettings settings_;
  std::shared_ptr<spdlog::logger> logger_;
  std::vector<std::unique_ptr<RedisShard>> shards_;
};

}  // namespace eventnode::core
