#pragma once
/// A Solana PubSub (WebSocket JSON-RPC) client that keeps its subscriptions
/// alive: it pings every ping_interval and redials when no pong comes within
/// pong_timeout, when the socket closes or a frame is broken; it redials with
/// exponential backoff and full jitter, and re-sends every subscription on the
/// new socket (the old subscription ids die with the old one). What was sent
/// while it was away is lost: the Connected callback is where the owner
/// starts a backfill.
#include "http_target.hpp"

#include <eventnode/plugin/json.hpp>

#include <spdlog/logger.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace Poco::Net {
class WebSocket;
}

namespace eventnode::plugins::solana_listener {

struct PubSubConfig {
  std::string url = "ws://127.0.0.1:8900";
  std::chrono::milliseconds ping_interval{30000};
  std::chrono::milliseconds pong_timeout{10000};
  std::chrono::milliseconds backoff_min{500};
  std::chrono::milliseconds backoff_max{30000};
  std::chrono::milliseconds dial_timeout{10000};
  std::size_t max_message_bytes = 8u << 20;
  std::string tls_ca_file;  ///< see HttpTarget::ca_file
};

class PubSubClient {
 public:
  /// Gets a notification's params.result, on the client's thread; must not block.
  using Handler = std::function<void(const plugin::Json& result)>;
  /// Called on the client's thread once every subscription has been confirmed
  /// on a new connection (the first one included); must not block.
  using Connected = std::function<void()>;

  /// Throws std::invalid_argument for a bad URL.
  PubSubClient(PubSubConfig config, std::shared_ptr<spdlog::logger> logger, Connected on_connected);
  ~PubSubClient();  ///< stops
  PubSubClient(const PubSubClient&) = delete;
  PubSubClient& operator=(const PubSubClient&) = delete;

  void start();
  /// Closes the socket and joins the thread; idempotent.
  void stop();

  /// Adds a subscription that lives across reconnects, e.g. ("logsSubscribe",
  /// [{"mentions":[id]},{"commitment":"confirmed"}], "logsUnsubscribe"). A
  /// one-shot subscription (signatureSubscribe) ends after its first
  /// notification. Returns a handle for unsubscribe(). Thread-safe.
  std::uint64_t subscribe(std::string method, plugin::Json params, std::string unsubscribe_method, Handler handler,
                          bool one_shot = false);
  /// Ends a subscription (telling the server when connected). Thread-safe.
  void unsubscribe(std::uint64_t handle);

  /// {"url","connected","since","reconnects","last_error","subscriptions","notifications","malformed"}
  plugin::Json status() const;

 private:
  struct Subscription {
    std::string method;
    plugin::Json params;
    std::string unsubscribe_method;
    /// Shared, so a notification takes a reference rather than a copy of the closure.
    std::shared_ptr<const Handler> handler;
    bool one_shot = false;
    std::optional<std::int64_t> server_id;  ///< on the current socket
  };
  struct Request {
    std::uint64_t handle = 0;
    bool subscribe = true;
  };

  void run();
  void serve(Poco::Net::WebSocket& socket);
  void sendText(Poco::Net::WebSocket& socket, const std::string& text);
  void handleText(const std::string& text);
  void sendPending(Poco::Net::WebSocket& socket);
  /// Waits `delay` (the Backoff's) or until stopped; false when stopping.
  bool waitBeforeRedial(std::chrono::milliseconds delay);
  void wake();

  PubSubConfig config_;
  HttpTarget target_;
  std::shared_ptr<spdlog::logger> logger_;
  Connected on_connected_;
  int wake_fd_ = -1;  ///< eventfd: a subscription change or stop() wakes the thread

  mutable std::mutex mutex_;
  std::condition_variable stopped_;
  bool running_ = false;
  std::thread thread_;
  std::uint64_t next_handle_ = 1;
  std::uint64_t next_request_ = 1;
  std::map<std::uint64_t, Subscription> subscriptions_;    ///< by handle
  std::map<std::int64_t, std::uint64_t> by_server_id_;     ///< server subscription id -> handle
  std::map<std::uint64_t, Request> requests_;              ///< JSON-RPC id -> what it asked
  std::vector<std::uint64_t> to_subscribe_;                ///< handles not yet requested on this socket
  std::vector<std::pair<std::string, std::int64_t>> to_unsubscribe_;  ///< method, server id
  bool connected_ = false;
  bool announced_ = false;  ///< Connected called for this socket
  std::optional<std::int64_t> connected_since_;
  std::uint64_t reconnects_ = 0;
  std::uint64_t notifications_ = 0;
  std::uint64_t malformed_ = 0;
  std::string last_error_;
};

}  // namespace eventnode::plugins::solana_listener
