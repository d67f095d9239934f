#pragma once
// The real-time gateway: owns the I/O threads, the topic registry and rules,
// admission limits and metrics. Publishing serializes an event once, records
// it in the topic's history and hands the same bytes to every I/O thread.
#include <eventnode/plugin/json.hpp>
#include <eventnode/plugin/websocket.hpp>

#include "broker/redis_broker.hpp"
#include "broker/serial_worker.hpp"
#include "bus/event_bus.hpp"
#include "config/node_config.hpp"
#include "gateway/event_loop.hpp"
#include "gateway/gateway_metrics.hpp"
#include "gateway/topic_registry.hpp"
#include "topics/topic_pattern.hpp"
#include "topics/topic_rules.hpp"
#include "logging/log_registry.hpp"
#include "scheduler/scheduler.hpp"

#include <Poco/Net/StreamSocket.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace eventnode::core {

/// Why a WebSocket upgrade is refused before it happens.
struct AdmissionRefusal {
  int status;
  std::string code;
  std::string message;
};

class Gateway final : private BrokerSink {
 public:
  /// Builds the topic rules from node.yaml's `topics`.
  Gateway(const NodeConfig& config, EventBus& bus, Scheduler& scheduler, LogRegistry& logs);
  /// How clients' in-band token refreshes are checked (the node's authenticator). Before start().
  void verifyRefreshesWith(TokenVerifier verifier) { context_.verify_token = std::move(verifier); }
  ~Gateway() override;
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  /// Plugins add rules and endpoints while starting; then freeze() makes both read-only.
  void addTopicRule(plugin::TopicRule rule, const std::string& owner);
  /// Throws std::logic_error for a path already taken or a call after freeze().
  void addEndpoint(plugin::WebSocketEndpoint endpoint, const std::string& owner);
  void freeze();

  /// The plugin endpoint at `path`, or nullptr. Thread-safe once frozen.
  const plugin::WebSocketEndpoint* findEndpoint(const std::string& path) const;

  void start();
  /// Closes every connection with 1001 and stops the I/O threads. Idempotent.
  void stop();

  /// Publishes on a topic: WebSocket subscribers (with history) and the
  /// in-process bus. Refused for a bad topic; RateLimited (nothing delivered)
  /// beyond user_events_per_minute on a user:<id> topic. Never throws for bad input.
  /// `idempotency_key` (HTTP publishers): with the Redis broker, a repeat of
  /// the key within 5 minutes is answered with the first publication's offset
  /// and publishes nothing, so a retry after a 503 never records twice.
  plugin::PublishResult publish(const std::string& topic, const plugin::Json& data,
                                const std::string& idempotency_key = {});
  /// One publish() per item; with Redis, the items go out as one pipelined
  /// round trip and the caller waits once (an HTTP batch). Results in order.
  struct BatchItem {
    const std::string& topic;
    const plugin::Json& data;
    std::string idempotency_key;
  };
  std::vector<plugin::PublishResult> publishMany(const std::vector<BatchItem>& items);
  /// publish() for data already serialized as JSON (Host::publishText): sent
  /// as it is, parsed only for in-process subscribers. Refused, with nothing
  /// published, for a bad topic, text that is not UTF-8, or (when a
  /// subscriber needs it parsed) not JSON.
  plugin::PublishResult publishText(const std::string& topic, std::string_view json_text);
  /// The in-process bus only (Host::publishToBus): no frame, no history, offset 0.
  plugin::PublishResult publishToBus(const std::string& topic, const plugin::Json& data);

  /// Reserves a connection slot for `ip`, or says why not. Thread-safe.
  std::optional<AdmissionRefusal> admit(const std::string& ip);
  /// Gives back a slot reserved by admit() when the upgrade failed.
  void release(const std::string& ip);
  /// Hands an upgraded socket to an I/O thread. The slot from admit() now belongs to the connection.
  plugin::ConnectionId adopt(Poco::Net::StreamSocket socket, bool tls, plugin::Identity identity, std::string ip,
                             const plugin::WebSocketEndpoint* endpoint, std::vector<std::string> requested_topics,
                             std::optional<std::chrono::steady_clock::time_point> token_deadline = std::nullopt);

  /// Queues a text message to one connection of `owner`'s endpoints (Refused
  /// for any other connection); never blocks. Thread-safe.
  plugin::SendStatus send(plugin::ConnectionId id, std::string_view text, const std::string& owner);
  /// send() of one text to many connections, framed once; returns how many were queued (Ok).
  std::size_t sendMany(const std::vector<plugin::ConnectionId>& ids, std::string_view text, const std::string& owner);
  /// Closes a connection of `owner`'s endpoints; false (nothing done) for any other.
  bool close(plugin::ConnectionId id, std::uint16_t code, std::string reason, const std::string& owner);

  /// {"total_connections","active_users","subscriptions","topics","server_id"}
  plugin::Json stats() const;
  /// Every live server of the cluster (this one alone with the memory broker):
  /// {"scope":"cluster","servers":[…],"total_connections","active_users"}. Throws BrokerUnavailable.
  plugin::Json clusterStats();
  /// {"type":"memory|redis","state":"ok|degraded|failing",…} for /healthz.
  plugin::Json brokerHealth() const;
  bool clustered() const { return broker_ != nullptr; }
  GatewayMetrics& metrics() { return metrics_; }
  const TopicRules& rules() const { return rules_; }

 private:
  void onClosed(const Connection& connection);
  /// The WebSocket side of a publish: offset, history, the I/O threads
  /// (through Redis with that broker).
  plugin::PublishResult publishToClients(const std::string& topic, std::string_view data_text,
                                         const std::string& idempotency_key = {});
  /// Counts a publication on a user:<id> topic against user_events_per_minute;
  /// false past it. Caller holds the topic's lock.
  bool withinUserLimit(TopicState& state, std::chrono::steady_clock::time_point now);
  /// Records an event at `offset` in the topic's history and hands it to the
  /// I/O threads (when `live`). Caller holds the topic's lock.
  void record(const std::shared_ptr<TopicState>& topic, std::uint64_t offset, bool live, std::string_view data_text,
              std::chrono::steady_clock::time_point now);
  /// In-process bus subscribers get a published event (parsed only when one needs it).
  void publishToLocalBus(const std::string& topic, std::string_view data_text);

  // --- The Redis broker's side (gateway_cluster.cpp). ---
  void onPublication(std::size_t shard, const std::string& topic, std::uint64_t offset, const std::string& epoch,
                     bool live, std::string_view data) override;
  void onBusMessage(const std::string& topic, std::string_view data) override;
  void onSubscribed(std::size_t shard) override;
  /// Reads the topic from Redis (from offset `from`) and merges it into this
  /// process's mirror; then runs `done`. On the sync worker's thread.
  void syncTopic(const std::shared_ptr<TopicState>& state, std::uint64_t from, std::function<void()> done);
  /// Merges what Redis holds into the mirror: older entries go in front,
  /// newer ones are delivered as they would have been live. Caller holds the lock.
  /// Returns the data of the events it delivered, for the bus (only when the bus has a subscriber).
  std::vector<std::string> merge(const std::shared_ptr<TopicState>& topic, const BrokerHistory& read,
                                 std::chrono::steady_clock::time_point now);
  /// Reads what the mirror lacks after its last offset (a new epoch: from 1) and merges it, twice at most.
  void catchUp(const std::shared_ptr<TopicState>& topic);
  /// The topic's position starts anew in Redis (its data was lost): the
  /// mirror is emptied and its subscribers are told. Caller holds the lock.
  void resetPosition(const std::shared_ptr<TopicState>& topic, const std::string& epoch, std::uint64_t offset);
  /// The frame of an event message.
  static FramePtr eventFrame(const std::string& topic, std::uint64_t offset, std::string_view data_text,
                             std::chrono::steady_clock::time_point now);
  bool isLocalBusTopic(const std::string& topic) const;
  plugin::Json describeServer() const;
  /// The connection's shared part when it is one of `owner`'s, else null.
  std::shared_ptr<ConnectionShared> ownedConnection(plugin::ConnectionId id, const std::string& owner) const;
  static FramePtr textFrame(std::string_view text);
  /// Hands a frame to the connection's I/O thread; Backpressure when it goes past outbound_buffer_bytes.
  plugin::SendStatus queueFrame(plugin::ConnectionId id, const ConnectionShared& shared, FramePtr frame);
  EventLoop& loopFor(plugin::ConnectionId id) { return *loops_[id % loops_.size()]; }

  const NodeConfig& config_;
  EventBus& bus_;
  Scheduler& scheduler_;
  std::shared_ptr<spdlog::logger> logger_;
  TopicRules rules_;
  TopicRegistry topics_;
  GatewayMetrics metrics_;
  LoopContext context_;
  std::vector<std::unique_ptr<EventLoop>> loops_;
  std::map<std::string, plugin::WebSocketEndpoint> endpoints_;
  std::map<std::string, std::string> endpoint_owners_;  ///< path → the plugin that added it
  bool frozen_ = false;
  bool started_ = false;
  Scheduler::TaskId sweep_task_ = 0;
  Scheduler::TaskId heartbeat_task_ = 0;
  std::vector<std::string> local_bus_topics_;  ///< patterns of bus topics kept in this process
  std::unique_ptr<RedisBroker> broker_;  ///< null with the memory broker
  SerialWorker sync_worker_{1024};        ///< Redis reads subscribers wait for, off the I/O threads

  std::atomic<plugin::ConnectionId> next_id_{1};
  mutable std::mutex registry_mutex_;
  std::size_t admitted_ = 0;
  std::unordered_map<std::string, std::size_t> per_ip_;
  std::unordered_map<std::string, std::size_t> users_;
  std::unordered_map<plugin::ConnectionId, std::shared_ptr<ConnectionShared>> connections_;
};

/// TopicAccess from its node.yaml name (public, authenticated, user, admin, deny).
plugin::TopicAccess parseTopicAccess(const std::string& name);

}  // namespace eventnode::core
