#pragma once
// One WebSocket connection as its I/O thread sees it. Owned and touched only
// by that thread; the small `ConnectionShared` part is what other threads may
// read (to answer a plugin's send with Ok/Backpressure/Closed without a round trip).
#include <eventnode/plugin/http.hpp>
#include <eventnode/plugin/websocket.hpp>

#include "gateway/outbound_frame.hpp"
#include "gateway/subscription_filter.hpp"
#include "gateway/topic_registry.hpp"
#include "gateway/ws_codec.hpp"

#include <Poco/Net/StreamSocket.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace eventnode::core {

struct ConnectionShared {
  std::atomic<std::size_t> queued_bytes{0};
  std::atomic<bool> closed{false};
  std::string owner;  ///< the plugin whose endpoint it came through; empty for /ws. Set before it is shared.
};

struct ClientSubscription {
  std::shared_ptr<TopicState> topic;  ///< held so the topic (its offsets and epoch) outlives the subscription
  std::uint64_t last_offset = 0;      ///< the newest offset this connection has been given (or skipped by filter)
  std::optional<SubscriptionFilter> filter;
};

/// When a connection whose token expires at `expires_at` must close, on the
/// steady clock (immune to clock steps); none for a token without `exp`.
inline std::optional<std::chrono::steady_clock::time_point> tokenDeadline(
    std::optional<std::chrono::system_clock::time_point> expires_at) {
  if (!expires_at) return std::nullopt;
  return std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                *expires_at - std::chrono::system_clock::now());
}

struct Connection {
  using Clock = std::chrono::steady_clock;

  Connection(plugin::ConnectionId connection_id, Poco::Net::StreamSocket stream, std::size_t max_message_bytes)
      : id(connection_id), socket(std::move(stream)), reader(max_message_bytes) {}

  plugin::ConnectionId id;
  Poco::Net::StreamSocket socket;
  int fd = -1;
  bool tls = false;
  plugin::Identity identity;
  std::optional<Clock::time_point> token_deadline;  ///< when its token expires: closed with 4001 then, unless refreshed
  std::optional<Clock::time_point> last_refresh;    ///< the last refresh attempt: one a second, signatures cost
  std::string remote_ip;
  const plugin::WebSocketEndpoint* endpoint = nullptr;  ///< null: the core /ws dialect
  ws::FrameReader reader;

  // Outbound: frames shared with other connections, written in order.
  std::vector<FramePtr> queue;
  std::size_t head = 0;          ///< first frame not fully written
  std::size_t head_written = 0;  ///< bytes of queue[head] already written
  std::size_t queued_bytes = 0;
  bool write_armed = false;  ///< EPOLLOUT registered
  bool dirty = false;        ///< has frames queued since the last flush pass

  // Closing: a close frame is queued; after it is written the write side is shut
  // and the peer gets until `close_deadline` to close its side.
  bool closing = false;
  bool close_queued = false;
  bool write_shut = false;
  bool doomed = false;  ///< to be destroyed at the end of this loop pass
  Clock::time_point close_deadline{};

  std::vector<ClientSubscription> subscriptions;

  Clock::time_point last_seen;
  Clock::time_point last_ping;
  Clock::time_point rate_window_start;
  std::uint32_t rate_window_messages = 0;

  std::shared_ptr<ConnectionShared> shared = std::make_shared<ConnectionShared>();

  ClientSubscription* findSubscription(const TopicState* topic) {
    for (auto& subscription : subscriptions) {
      if (subscription.topic.get() == topic) return &subscription;
    }
    return nullptr;
  }
};

}  // namespace eventnode::core
