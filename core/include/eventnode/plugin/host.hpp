#pragma once
/// Host: everything a plugin gets from the core. The node owns the Host and
/// hands a reference to Plugin::start(); it stays valid until stop() returns.
/// Every method is thread-safe unless it says otherwise.
#include <eventnode/plugin/http.hpp>
#include <eventnode/plugin/json.hpp>
#include <eventnode/plugin/metrics.hpp>
#include <eventnode/plugin/websocket.hpp>

#include <spdlog/logger.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace eventnode::plugin {

using SubscriptionId = std::uint64_t;
using TimerId = std::uint64_t;

/// Called for each event on a matching topic on the subscribing plugin's own bus thread, in order: a slow
/// handler delays only its own plugin's events; past 10,000 waiting, they are dropped and counted in /metrics.
using BusHandler = std::function<void(const std::string& topic, const Json& data)>;

/// What became of a publish.
enum class PublishStatus {
  Accepted,     ///< taken: delivered, or queued for delivery, to everyone it goes to
  RateLimited,  ///< a user:<id> event beyond user_events_per_minute: kept in history at `offset`, not sent live
  Refused,      ///< bad topic name, data that is not UTF-8 or not JSON: nothing was published
  Unavailable,  ///< the broker could not take it (the cluster's Redis is down): nothing was published; retry
};

/// The answer to every publish. A durable producer (an outbox, a cursor) marks
/// an event as delivered only when accepted().
struct PublishResult {
  PublishStatus status = PublishStatus::Accepted;
  std::uint64_t offset = 0;  ///< the event's offset in its topic; 0 for bus-only events and refusals
  std::string reason;        ///< why, when not accepted

  bool accepted() const { return status == PublishStatus::Accepted; }
};

/// How a plugin says it is doing, shown per plugin on /healthz.
enum class HealthState {
  Ok,
  Degraded,  ///< working in part ("pubsub disconnected for 40 s"): /healthz still answers 200, status degraded
  Failing,   ///< not doing its job: /healthz answers 503
};

class Host {
 public:
  virtual ~Host() = default;

  /// The plugin's own logger, `plugin.<name>`, with the level set in node.yaml.
  virtual std::shared_ptr<spdlog::logger> logger() = 0;
  /// `node.id` from node.yaml: names this process in logs, metrics and peers.
  virtual std::string nodeId() = 0;
  /// `<node.data_dir>/<plugin name>`, created before start(); the plugin's files live here.
  virtual std::filesystem::path dataDir() = 0;

  // --- publishing: to clients and the bus ---------------------------------------------------
  // Topic names are 1..256 printable ASCII characters without space, `*`, `,`, `"` or `\`.
  // None of these throws for bad input: the result says what happened.

  /// Publishes `data` on `topic` to WebSocket subscribers (kept in its history
  /// when the topic rules say so) and to every in-process subscriber whose pattern matches.
  virtual PublishResult publish(const std::string& topic, const Json& data) = 0;
  /// publish() for data the plugin already holds as JSON text: `json_text`
  /// goes to WebSocket subscribers as it is, and is parsed only when an
  /// in-process subscriber's pattern matches. Saves printing the data again.
  /// The caller vouches that it is one JSON value (checked in debug builds
  /// only); text that is not UTF-8, or not JSON when it is parsed, is Refused.
  virtual PublishResult publishText(const std::string& topic, std::string_view json_text) = 0;
  /// Publishes on the in-process bus only: no client sees it, no frame is
  /// built, no history kept (offset 0). For requests between plugins (`solana:watch`).
  virtual PublishResult publishToBus(const std::string& topic, const Json& data) = 0;
  /// publish() on `user:<user>`: every connection of that user receives it;
  /// RateLimited beyond user_events_per_minute.
  virtual PublishResult sendToUser(const std::string& user, const Json& data) = 0;
  /// publish() on `admins`: every connection whose token has the admin role receives it.
  virtual PublishResult sendToAdmins(const Json& data) = 0;
  /// publish() on `broadcast`: every connection on /ws receives it.
  virtual PublishResult broadcast(const Json& data) = 0;

  // --- the bus -----------------------------------------------------------------------------

  /// Subscribes to a topic, or to every topic with a prefix when the pattern
  /// ends in `*` (`solana:tx:*`). The handler runs on this plugin's bus thread
  /// (see BusHandler). Returns an id for unsubscribe(). A bad pattern throws std::invalid_argument.
  virtual SubscriptionId subscribe(const std::string& topic_pattern, BusHandler handler) = 0;
  /// Stops delivery to the handler; when it returns, the handler is not
  /// running (unless called from inside it) and will not run again.
  virtual void unsubscribe(SubscriptionId id) = 0;

  // --- the plugin's own WebSocket connections ------------------------------------------------

  /// Queues a text message to one connection of one of this plugin's
  /// endpoints; never blocks. Refused for any other connection.
  virtual SendStatus sendToConnection(ConnectionId id, std::string_view text) = 0;
  /// sendToConnection() of the same text to many connections, framed once.
  /// Returns how many were queued (Ok).
  virtual std::size_t sendToConnections(const std::vector<ConnectionId>& ids, std::string_view text) = 0;
  /// Closes a connection of one of this plugin's endpoints with a WebSocket
  /// close code and reason; returns false (and does nothing) for any other.
  virtual bool closeConnection(ConnectionId id, std::uint16_t code, const std::string& reason) = 0;
  /// Adds a WebSocket endpoint (only during start()). Its callbacks are guarded:
  /// an exception is logged and closes that connection with 1011.
  virtual void addWebSocketEndpoint(WebSocketEndpoint endpoint) = 0;
  /// Adds a topic rule, checked after node.yaml's (only during start()).
  virtual void addTopicRule(TopicRule rule) = 0;

  /// Registers an HTTP route. Only during start(); a clash with an existing
  /// route, or a call after start() returned, throws std::logic_error.
  virtual void addHttpRoute(HttpRoute route) = 0;

  // --- timers ------------------------------------------------------------------------------

  /// Runs `task` every `interval` on the core's scheduler thread, first after
  /// one interval. Tasks must not block; an exception is logged and the timer keeps running.
  virtual TimerId scheduleEvery(std::chrono::milliseconds interval, std::function<void()> task) = 0;
  /// Runs `task` once after `delay` on the scheduler thread.
  virtual TimerId scheduleOnce(std::chrono::milliseconds delay, std::function<void()> task) = 0;
  /// Cancels a timer; when it returns the task is not running and will not run again.
  /// Must not be called from the timer's own task for a one-shot that already ran (harmless no-op).
  virtual void cancelTimer(TimerId id) = 0;

  // --- metrics and health ------------------------------------------------------------------
  // `name` is the part after `eventnode_<plugin>_`, [a-z_][a-z0-9_]*; counters end in `_total`.
  // One name has one type and help; each distinct set of labels is a series of it.
  // A bad name, or a name registered before with another type, throws std::invalid_argument.

  /// The counter of this name and labels, created on first use.
  virtual std::shared_ptr<Counter> counter(const std::string& name, const std::string& help,
                                           const MetricLabels& labels) = 0;
  /// The gauge of this name and labels, created on first use.
  virtual std::shared_ptr<Gauge> gauge(const std::string& name, const std::string& help,
                                       const MetricLabels& labels) = 0;
  /// The histogram of this name and labels, created on first use with these bucket bounds.
  virtual std::shared_ptr<Histogram> histogram(const std::string& name, const std::string& help,
                                               std::vector<double> bounds, const MetricLabels& labels) = 0;
  /// A figure the plugin already keeps, read by `read` when /metrics is scraped
  /// (on an HTTP thread: thread-safe, quick, no host calls). Registering the
  /// same name and labels again replaces the reader. Dropped when the plugin stops.
  virtual void observe(const std::string& name, const std::string& help, MetricType type,
                       const MetricLabels& labels, std::function<double()> read) = 0;

  /// Says how the plugin is doing; /healthz shows the last report (Ok until
  /// the first). `reason` says what is wrong, for an operator: "pubsub
  /// disconnected for 40 s". Never a secret.
  virtual void reportHealth(HealthState state, const std::string& reason) = 0;
};

}  // namespace eventnode::plugin
