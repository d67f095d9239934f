#pragma once
/// What every part of the P2P mesh shares: the config, the peers (fixed
/// after construction), the message handler and the stop flag. Owned by
/// P2pNetwork, which outlives every thread that uses it.
#include "p2p_link_io.hpp"
#include "p2p_network.hpp"
#include "p2p_peer.hpp"

#include <spdlog/logger.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace eventnode::plugins::utxo::p2p {

struct P2pContext {
  /// Builds one Peer per configured address, skipping this node and repeats (logged).
  P2pContext(P2pConfig cfg, std::shared_ptr<spdlog::logger> log, P2pMessageHandler h, P2pPingBarrier b);

  /// A connection silent this long is dead: three ping intervals.
  std::chrono::milliseconds silenceLimit() const { return config.ping_interval * 3; }

  /// Whether a Ping from `peer_id` may be answered now (see P2pPingBarrier);
  /// called on that connection's reading thread.
  bool mayAnswerPing(const std::string& peer_id);

  /// Hands a message to the handler; a handler's exception is logged, the connection stays.
  void deliver(const std::string& peer_id, const plugin::Json& message, const P2pReply& reply);

  P2pConfig config;
  std::shared_ptr<spdlog::logger> logger;
  P2pMessageHandler handler;
  P2pPingBarrier barrier;
  std::map<std::string, std::shared_ptr<Peer>> peers;  ///< fixed after construction
  Frame ping_frame;
  Frame pong_frame;
  std::string listen_addr;  ///< set by start() before any thread runs
  std::atomic<bool> stopping{false};
};

}  // namespace eventnode::plugins::utxo::p2p
