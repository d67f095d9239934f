#pragma once
/// WebSocket endpoints that plugins add beside the core's `/ws` (for example
/// `/ws/utxo-protocol` with its own message dialect), and the topic access
/// rules plugins contribute.
#include <eventnode/plugin/http.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace eventnode::plugin {

/// Identifies one WebSocket connection for the life of the process.
using ConnectionId = std::uint64_t;

/// The result of queueing a message to a connection; never blocks.
enum class SendStatus {
  Ok,            ///< queued; it will be written in order
  Backpressure,  ///< the connection's outbound buffer is full: it is being closed with 1008
  Closed,        ///< the connection is gone
  Refused,       ///< not a connection of this plugin's endpoints
};

/// A plugin's WebSocket endpoint. The host does the HTTP upgrade, the
/// authentication (per `access`), framing, limits, heartbeats and closing;
/// the plugin sees whole text messages. Callbacks run on the core's I/O
/// threads: they must not block, and must be thread-safe (different
/// connections may be served by different threads). Per connection they are
/// called in order: on_open, on_message..., on_close.
struct WebSocketEndpoint {
  std::string path;  ///< e.g. /ws/utxo-protocol
  RouteAccess access = RouteAccess::Public;
  std::function<void(ConnectionId, const Identity&)> on_open;
  std::function<void(ConnectionId, std::string_view text)> on_message;
  std::function<void(ConnectionId)> on_close;
};

/// Who may subscribe to topics matching a pattern on the core's `/ws`.
enum class TopicAccess {
  Public,         ///< anyone, even without a token
  Authenticated,  ///< any valid token
  User,           ///< the pattern's {sub} must equal the token's sub (user:{sub})
  Admin,          ///< tokens with the admin role
  Deny,           ///< nobody (plugins publish there for in-process use only)
};

/// `pattern` is a topic name; `*` at the end matches any suffix and `{sub}`
/// matches one user id. Rules from node.yaml are checked before plugin rules;
/// the first match decides.
struct TopicRule {
  std::string pattern;
  TopicAccess access = TopicAccess::Authenticated;
  std::size_t history_size = 0;           ///< events kept per topic for recovery (0: none)
  std::uint32_t history_ttl_seconds = 0;  ///< 0: kept until history_size pushes them out
};

}  // namespace eventnode::plugin
