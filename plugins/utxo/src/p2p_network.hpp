#pragma once
/// The masternode P2P mesh: a TCP listener for the other masternodes'
/// connections, and one outbound link per peer that dials, handshakes, pings
/// and redials with backoff. Messages are length-prefixed JSON (p2p_codec.hpp).
/// Each node sends on its outbound links and reads from the connections it
/// accepted; a reply (UTXOStateResponse) goes back on the connection the
/// request came in on.
#include <eventnode/plugin/json.hpp>

#include <spdlog/logger.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace eventnode::plugins::utxo {

enum class Network { Testnet, Mainnet };

class P2pAuthenticator;

struct PeerAddress {
  std::string id;    ///< masternode id, as in config
  std::string host;  ///< host name or IP
  std::uint16_t port = 0;
};

struct P2pConfig {
  Network network = Network::Testnet;
  std::string self_id;
  std::string listen_host = "0.0.0.0";
  std::uint16_t listen_port = 24100;
  std::string advertised_address;  ///< host:port sent in the handshake's listen_addr
  std::vector<PeerAddress> peers;  ///< every other masternode (never self)
  std::chrono::milliseconds ping_interval{30000};
  std::chrono::milliseconds reconnect_min{250};
  std::chrono::milliseconds reconnect_max{10000};
  std::chrono::milliseconds dial_timeout{5000};
  std::size_t max_frame_bytes = 10u * 1024 * 1024;
  std::size_t max_queued_per_peer = 100000;  ///< messages kept for a disconnected peer; the oldest are dropped
  /// Signs and checks handshakes (p2p_auth.hpp); null: peers are known by
  /// the node_id they claim.
  std::shared_ptr<P2pAuthenticator> authenticator;
};

/// Sends a message back on the connection a request came in on; safe to call
/// from any thread, a no-op once that connection is gone.
using P2pReply = std::function<void(const plugin::Json& message)>;

/// Called on the thread reading a connection (accepted, or an outbound link
/// that got a reply), in the order the peer sent them, for every message
/// other than Ping/Pong (answered and consumed by the network). Different
/// connections call it concurrently. A message may come twice after a
/// reconnect (delivery is at least once). `message` is the decoded body, e.g.
/// {"TransactionBroadcast":{…}}. Must not block for long.
using P2pMessageHandler =
    std::function<void(const std::string& peer_id, const plugin::Json& message, const P2pReply& reply)>;

/// Called on the thread reading a connection a peer dialled (the one it
/// sends its broadcasts and votes on) when that peer sends a Ping, before it
/// is answered. Returns once every message the handler got from that
/// connection before the Ping is durable: true to send the Pong, false to
/// withhold it (they could not be made durable). The sender keeps every frame
/// until a Pong confirms it and sends what is unconfirmed again after a
/// reconnect, so a Pong must mean "kept", not just "read". Without a barrier
/// Pings are answered at once.
using P2pPingBarrier = std::function<bool()>;

class P2pNetwork {
 public:
  /// Throws std::runtime_error naming the address when the listener cannot bind (in start()).
  P2pNetwork(P2pConfig config, std::shared_ptr<spdlog::logger> logger, P2pMessageHandler handler,
             P2pPingBarrier barrier = {});
  ~P2pNetwork();  ///< stops
  P2pNetwork(const P2pNetwork&) = delete;
  P2pNetwork& operator=(const P2pNetwork&) = delete;

  /// Binds the listener and starts the peer links' threads.
  void start();
  /// Closes every connection and joins every thread; idempotent.
  void stop();

  /// Queues `messages`, in order, on every peer's outbound link; never blocks
  /// on the network. A message over max_frame_bytes is logged and skipped.
  void broadcast(const std::vector<plugin::Json>& messages);
  /// Queues `message` on one peer's outbound link; unknown ids are ignored.
  void sendTo(const std::string& peer_id, const plugin::Json& message);

  /// Per peer: {"id","address","outbound":{"connected","since","reconnects","last_error","queued","unconfirmed",
  /// "dropped"},"inbound":{"connected","since"}}
  plugin::Json status() const;
  /// The port actually bound (useful when listen_port is 0).
  std::uint16_t listenPort() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace eventnode::plugins::utxo
