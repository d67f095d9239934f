#pragma once
// One I/O thread serving a share of the WebSocket connections over epoll:
// reads and parses client frames, runs the core protocol (or hands messages
// to a plugin endpoint), fans published events out to its subscribers and
// writes queued frames with writev. Other threads talk to it only through
// post(); everything else is touched by its own thread alone.
#include "config/node_config.hpp"
#include "gateway/client_protocol.hpp"
#include "gateway/connection.hpp"
#include "gateway/gateway_metrics.hpp"
#include "gateway/topic_registry.hpp"
#include "topics/topic_rules.hpp"

#include <spdlog/logger.h>

#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

namespace eventnode::core {

/// What the I/O threads need from the gateway; owned by the gateway.
/// Checks the token a client sends to refresh its connection: its identity,
/// and its expiry through `expires_at`. Throws with the reason when refused.
using TokenVerifier = std::function<plugin::Identity(
    const std::string& token, std::optional<std::chrono::system_clock::time_point>* expires_at)>;

struct LoopContext {
  const ServerSection& settings;
  std::string node_id;
  const TopicRules& rules;
  TopicRegistry& topics;
  GatewayMetrics& metrics;
  std::shared_ptr<spdlog::logger> logger;
  /// Called on the I/O thread after a connection is gone (bookkeeping of counts).
  std::function<void(const Connection&)> on_closed;
  /// With the Redis broker: reads a topic from Redis (from an offset) into the
  /// mirror off this thread, then calls back. Empty with the memory broker.
  std::function<void(std::shared_ptr<TopicState>, std::uint64_t from, std::function<void()> done)> sync = {};
  /// With the Redis broker: whether this process's mirror of a topic is current
  /// (it hears the topic's publications); when not, subscribes ask Redis first.
  std::function<bool(const std::string& topic)> mirror_current = {};
  /// The node's authenticator, for in-band token refresh; empty: refresh is refused.
  TokenVerifier verify_token = {};
};

/// A new connection, handed over after the upgrade.
struct AdoptTask {
  std::shared_ptr<Connection> connection;     // shared_ptr only to fit in std::function-free variant copies
  std::vector<std::string> automatic_topics;  ///< subscribed silently (user:<sub>, admins, broadcast)
  std::vector<std::string> requested_topics;  ///< from ?subscriptions=, confirmed one by one
};

/// An event published on a topic, for every subscriber of this loop.
struct DeliverTask {
  std::shared_ptr<TopicState> topic;
  std::uint64_t offset = 0;  ///< 0: a notice outside the topic's sequence (delivered to all, not recorded)
  FramePtr frame;
};

/// A frame for one connection (a plugin's direct send).
struct SendTask {
  plugin::ConnectionId id = 0;
  FramePtr frame;
};

struct CloseTask {
  plugin::ConnectionId id = 0;
  std::uint16_t code = ws::kCloseNormal;
  std::string reason;
};

/// Close every connection with 1001 and end the thread.
struct ShutdownTask {};

/// A topic's history was lost in Redis: its subscribers start again at
/// `offset` in `epoch` and are told so (recovered:false).
struct EpochResetTask {
  std::shared_ptr<TopicState> topic;
  std::uint64_t offset = 0;
  std::string epoch;
};

/// A subscribe that waited for the topic to be read from Redis.
struct ResumeSubscribeTask {
  plugin::ConnectionId id = 0;
  std::string topic;
  std::optional<std::uint64_t> since;
  std::string epoch;
  std::optional<SubscriptionFilter> filter;
  bool confirm = true;
};

using LoopTask = std::variant<AdoptTask, DeliverTask, SendTask, CloseTask, ShutdownTask, EpochResetTask,
                              ResumeSubscribeTask>;

class EventLoop {
 public:
  EventLoop(std::size_t index, LoopContext& context);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  void start();
  /// Closes every connection with 1001 (giving peers up to 2 s) and joins the thread.
  void stop();

  /// Thread-safe; tasks run on the loop's thread in the order posted.
  void post(LoopTask task);

 private:
  using Clock = std::chrono::steady_clock;

  void run();
  void drainInbox();
  void handle(AdoptTask& task);
  void handle(DeliverTask& task);
  void handle(SendTask& task);
  void handle(CloseTask& task);
  void handle(ShutdownTask& task);
  void handle(EpochResetTask& task);
  void handle(ResumeSubscribeTask& task);

  void onReadable(Connection& connection);
  void onText(Connection& connection, std::string_view text);
  /// Counts one client message (text, binary or ping) against messages_per_second.
  /// False when it is over: dropped and counted, the client told, or closed past twice the limit.
  bool withinRate(Connection& connection);
  void handleRequest(Connection& connection, ClientRequest& request);
  /// A new token for the same user and roles: the connection lives on to its expiry.
  void refresh(Connection& connection, const std::string& token);
  /// `read_first`: with the Redis broker, a topic this process cannot answer
  /// for yet is read from Redis first and the subscribe resumes afterwards.
  void subscribe(Connection& connection, const std::string& topic, const std::uint64_t* since, const std::string& epoch,
                 std::optional<SubscriptionFilter> filter, bool confirm, bool read_first = true);
  void unsubscribe(Connection& connection, const std::string& topic);
  void removeSubscription(Connection& connection, std::size_t index);

  /// Queues a frame; every frame counts toward outbound_buffer_bytes, and one
  /// that goes past it closes the connection (1008). Only the close frame
  /// (`closing`) is exempt: it must always be able to follow.
  bool enqueue(Connection& connection, FramePtr frame, bool closing = false);
  void sendText(Connection& connection, std::string_view text);
  void flush(Connection& connection);
  void flushDirty();
  void closeWith(Connection& connection, std::uint16_t code, std::string_view reason);
  void shutWrite(Connection& connection);
  void doom(Connection& connection);
  void destroyDoomed();
  void heartbeat(Clock::time_point now);
  void setWriteInterest(Connection& connection, bool want);

  std::size_t index_;
  LoopContext& context_;
  LoopCounters& counters_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;

  std::mutex inbox_mutex_;
  std::vector<LoopTask> inbox_;
  std::vector<LoopTask> working_;

  std::unordered_map<plugin::ConnectionId, std::shared_ptr<Connection>> connections_;
  std::unordered_map<const TopicState*, std::vector<Connection*>> subscribers_;
  std::vector<Connection*> dirty_;
  std::vector<Connection*> doomed_;
  std::vector<char> read_buffer_;
  bool shutting_down_ = false;
  Clock::time_point shutdown_deadline_{};
  Clock::time_point last_heartbeat_{};
};

}  // namespace eventnode::core
