#pragma once
/// The handshake that opens every P2P connection, both ends of it: this
/// node's handshake (signed when masternodes have keys, p2p_auth.hpp), and
/// the checks of the peer's (shape, network, who it is, its signature). A
/// failed check throws ProtocolError, which closes that connection only.
/// Called on the connection's own thread.
#include "p2p_codec.hpp"
#include "p2p_context.hpp"
#include "p2p_peer.hpp"

#include <Poco/Net/StreamSocket.h>

#include <memory>
#include <string>
#include <vector>

namespace eventnode::plugins::utxo::p2p {

/// The magic bytes and the handshake frame, as the first bytes of a connection.
std::string handshakeBytes(const P2pContext& context, const P2pHandshake& handshake);

/// The peer's handshake, checked for shape and network (both ends check the same way).
P2pHandshake readHandshake(const P2pContext& context, Poco::Net::StreamSocket& socket, P2pFrameDecoder& decoder,
                           std::vector<char>& buffer, const char* silence);

/// Outbound: this node's handshake to `peer_id`.
P2pHandshake dialHandshake(const P2pContext& context, const std::string& peer_id);
/// Outbound: checks that the answer to `dial` came from `peer_id`.
void checkAnswer(const P2pContext& context, const P2pHandshake& answer, const P2pHandshake& dial,
                 const std::string& peer_id);

/// Inbound: the configured peer that `dial` names, once it proved who it is.
std::shared_ptr<Peer> acceptDialer(const P2pContext& context, const P2pHandshake& dial);
/// Inbound: this node's answer to `dial`.
P2pHandshake answerHandshake(const P2pContext& context, const P2pHandshake& dial);

}  // namespace eventnode::plugins::utxo::p2p
