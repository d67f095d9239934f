#pragma once
/// Host: everything a plugin gets from the core. The node owns the Host and
/// hands a reference to Plugin::start(); it stays valid until stop() returns.
/// Every method is thread-safe unless it says otherwise.
#include <eventnode/plugin/http.hpp>
#include <eventnode/plugin/json.hpp>
#include <eventnode/plugin/websocket.hpp>

#include <spdlog/logger.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace eventnode::plugin {

using SubscriptionId = std::uint64_t;
using TimerId = std::uint64_t;

/// Called for each event on a matching topic on the subscribing plugin's own bus thread, in order: a slow
/// handler delays only its own plugin's events; past 10,000 waiting, they are dropped and counted in /metrics.
using BusHandler = std::function<void(const std::string& topic, const Json& data)>;

class Host {
 public:
  virtual ~Host() = default;

  /// The plugin's own logger, `plugin.<name>`, with the level set in node.yaml.
  virtual std::shared_ptr<spdlog::logger> logger() = 0;
  /// `node.id` from node.yaml: names this process in logs, metrics and peers.
  virtual std::string nodeId() = 0;
  /// `<node.data_dir>/<plugin name>`, created before start(); the plugin's files live here.
  virtual std::filesystem::path dataDir() = 0;

  /// Publishes `data` on `topic`: to WebSocket subscribers of the topic (kept
  /// in its history when the topic rules say so) and to every in-process
  /// subscriber whose pattern matches. Returns the event's offset in the topic
  /// (0 when a user:<id> event was dropped by user_events_per_minute). Topic
  /// names are 1..256 printable ASCII characters without space, `*`, `,`, `"`
  /// or `\`; a bad name throws std::invalid_argument.
  virtual std::uint64_t publish(const std::string& topic, const Json& data) = 0;
  /// publish() on `user:<user>`: every connection of that user receives it.
  virtual std::uint64_t sendToUser(const std::string& user, const Json& data) = 0;
  /// publish() on `admins`: every connection whose token has the admin role receives it.
  virtual std::uint64_t sendToAdmins(const Json& data) = 0;
  /// publish() on `broadcast`: every connection on /ws receives it.
  virtual std::uint64_t broadcast(const Json& data) = 0;
  /// Subscribes to a topic, or to every topic with a prefix when the pattern
  /// ends in `*` (`solana:tx:*`). Returns an id for unsubscribe().
  virtual SubscriptionId subscribe(const std::string& topic_pattern, BusHandler handler) = 0;
  /// Stops delivery to the handler; when it returns, the handler is not running and will not run again.
  virtual void unsubscribe(SubscriptionId id) = 0;

  /// Queues a text message to one WebSocket connection (of the plugin's own
  /// endpoint, usually); never blocks.
  virtual SendStatus sendToConnection(ConnectionId id, std::string_view text) = 0;
  /// Closes a connection with a WebSocket close code and reason.
  virtual void closeConnection(ConnectionId id, std::uint16_t code, const std::string& reason) = 0;
  /// Adds a WebSocket endpoint (only during start()). Its callbacks are guarded:
  /// an exception is logged and closes that connection with 1011.
  virtual void addWebSocketEndpoint(WebSocketEndpoint endpoint) = 0;
  /// Adds a topic rule, checked after node.yaml's (only during start()).
  virtual void addTopicRule(TopicRule rule) = 0;

  /// Registers an HTTP route. Only during start(); a clash with an existing
  /// route, or a call after start() returned, throws std::logic_error.
  virtual void addHttpRoute(HttpRoute route) = 0;

  /// Runs `task` every `interval` on the core's scheduler thread, first after
  /// one interval. Tasks must not block; an exception is logged and the timer keeps running.
  virtual TimerId scheduleEvery(std::chrono::milliseconds interval, std::function<void()> task) = 0;
  /// Runs `task` once after `delay` on the scheduler thread.
  virtual TimerId scheduleOnce(std::chrono::milliseconds delay, std::function<void()> task) = 0;
  /// Cancels a timer; when it returns the task is not running and will not run again.
  /// Must not be called from the timer's own task for a one-shot that already ran (harmless no-op).
  virtual void cancelTimer(TimerId id) = 0;

  // Added in API 1.1; kept last so the methods above keep their places.

  /// publish() for data the plugin already holds as JSON text: `json_text`
  /// goes to WebSocket subscribers as it is, and is parsed only when an
  /// in-process subscriber's pattern matches. Saves printing the data again
  /// (a 33 KiB batch of numbers costs more to print than to record). The
  /// caller vouches that it is one JSON value (checked in debug builds only).
  /// Throws std::invalid_argument, publishing nothing, for a bad topic, text
  /// that is not UTF-8, or text that is not JSON when a subscriber parses it.
  virtual std::uint64_t publishText(const std::string& topic, std::string_view json_text) = 0;
};

}  // namespace eventnode::plugin
