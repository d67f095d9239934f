#include "p2p_context.hpp"

#include "p2p_codec.hpp"

#include <exception>
#include <utility>

namespace eventnode::plugins::utxo::p2p {

P2pContext::P2pContext(P2pConfig cfg, std::shared_ptr<spdlog::logger> log, P2pMessageHandler h, P2pPingBarrier b)
    : config(std::move(cfg)), logger(std::move(log)), handler(std::move(h)), barrier(std::move(b)) {
  for (const auto& address : config.peers) {
    if (address.id == config.self_id) {
      logger->warn("p2p peer list names this node, ignored peer={}", address.id);
      continue;
    }
    if (peers.count(address.id)) {
      logger->warn("p2p peer listed twice, first kept peer={}", address.id);
      continue;
    }
    auto peer = std::make_shared<Peer>();
    peer->address = address;
    peer->address_text = address.host + ":" + std::to_string(address.port);
    peer->max_queued = config.max_queued_per_peer;
    peer->logger = logger;
    peers.emplace(address.id, std::move(peer));
  }
  ping_frame = std::make_shared<const std::string>(encodeP2pFrame(plugin::Json("Ping")));
  pong_frame = std::make_shared<const std::string>(encodeP2pFrame(plugin::Json("Pong")));
}

bool P2pContext::mayAnswerPing(const std::string& peer_id) {
  if (!barrier) return true;
  try {
    if (barrier()) return true;
  } catch (const std::exception& e) {
    logger->warn("p2p ping barrier failed peer={} reason={}", peer_id, e.what());
  }
  logger->debug("p2p ping not answered peer={}: earlier messages are not durable", peer_id);
  return false;
}

void P2pContext::deliver(const std::string& peer_id, const plugin::Json& message, const P2pReply& reply) {
  try {
    handler(peer_id, message, reply);
  } catch (const std::exception& e) {
    // A handler bug is not the peer's fault: the connection stays.
    logger->warn("p2p handler failed peer={} reason={}", peer_id, e.what());
  }
}

}  // namespace eventnode::plugins::utxo::p2p
