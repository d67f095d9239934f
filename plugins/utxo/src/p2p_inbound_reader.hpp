#pragma once
/// The thread that serves one accepted connection: the handshake, then every
/// frame the peer sends on it, in order (Pings answered once the barrier
/// allows, other messages to the handler with a reply that writes back on
/// this connection), until it fails or the network stops.
#include "p2p_context.hpp"
#include "p2p_inbound_connection.hpp"

#include <memory>

namespace eventnode::plugins::utxo::p2p {

/// Runs on the connection's own thread and returns when the connection is
/// over: closed, detached from its Peer, and marked done for the listener to reap.
void runInbound(P2pContext& context, const std::shared_ptr<InboundConnection>& connection);

}  // namespace eventnode::plugins::utxo::p2p
