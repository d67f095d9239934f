#pragma once
/// One peer's outbound link: dials it, sends this node's handshake, then
/// writes the peer's send queue (p2p_peer.hpp) with confirming Pings while a
/// second thread reads what comes back; redials with full-jitter backoff
/// until the network stops.
#include "p2p_context.hpp"
#include "p2p_peer.hpp"

#include <memory>

namespace eventnode::plugins::utxo::p2p {

/// Runs on the peer's link thread; returns once context.stopping is set and
/// the link's socket is shut down (stop() wakes it through Peer::out_socket).
void runLink(P2pContext& context, const std::shared_ptr<Peer>& peer_ptr);

}  // namespace eventnode::plugins::utxo::p2p
