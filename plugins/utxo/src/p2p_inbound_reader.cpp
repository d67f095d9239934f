#include "p2p_inbound_reader.hpp"

#include "p2p_handshake_step.hpp"

#include <exception>
#include <stdexcept>
#include <utility>

namespace eventnode::plugins::utxo::p2p {

void runInbound(P2pContext& context, const std::shared_ptr<InboundConnection>& connection) {
  const auto& config = context.config;
  const auto& logger = context.logger;
  std::shared_ptr<Peer> peer;
  std::string peer_id = "unknown";
  try {
    auto& socket = connection->socket;
    socket.setNoDelay(true);
    socket.setReceiveTimeout(toTimespan(config.dial_timeout));
    socket.setSendTimeout(toTimespan(config.dial_timeout));
    std::vector<char> buffer(kReadChunk);
    P2pFrameDecoder decoder(config.max_frame_bytes, p2pMagic(config.network));

    const auto handshake = readHandshake(context, socket, decoder, buffer, "no handshake within the dial timeout");
    peer = acceptDialer(context, handshake);
    peer_id = handshake.node_id;

    connection->send(std::make_shared<const std::string>(handshakeBytes(context, answerHandshake(context, handshake))));
    std::shared_ptr<InboundConnection> replaced;
    {
      std::lock_guard lock(peer->mutex);
      replaced = std::exchange(peer->inbound, connection);
      peer->in_since = unixNow();
    }
    // The peer dialled again, so its previous connection is dead even if
    // our side has not noticed yet.
    if (replaced) replaced->close();
    logger->info("p2p inbound connected peer={} remote={}", peer_id, connection->remote);

    socket.setReceiveTimeout(toTimespan(context.silenceLimit()));
    socket.setSendTimeout(toTimespan(context.silenceLimit()));
    const std::weak_ptr<InboundConnection> weak = connection;
    const std::size_t max_frame = config.max_frame_bytes;
    const auto log = logger;
    const P2pReply reply = [weak, max_frame, log, peer_id](const plugin::Json& message) {
      auto target = weak.lock();
      if (!target) return;
      try {
        target->send(std::make_shared<const std::string>(encodeP2pFrame(message, max_frame)));
      } catch (const std::length_error& e) {
        log->warn("p2p reply not sent peer={} reason={}", peer_id, e.what());
      }
    };
    for (;;) {
      const plugin::Json message = readFrame(socket, decoder, buffer, "silent for 3 ping intervals");
      std::string error;
      const auto kind = checkP2pMessage(message, error);
      if (!kind) throw ProtocolError(error);
      if (*kind == P2pMessageKind::Ping) {
        if (context.mayAnswerPing(peer_id)) connection->send(context.pong_frame);
      } else if (*kind != P2pMessageKind::Pong) {
        context.deliver(peer_id, message, reply);
      }
    }
  } catch (const ProtocolError& e) {
    if (!context.stopping) {
      logger->warn("p2p inbound closed peer={} remote={} reason=malformed: {}", peer_id, connection->remote, e.what());
    }
  } catch (const std::exception& e) {
    if (!context.stopping) {
      if (peer) {
        logger->info("p2p inbound disconnected peer={} remote={} reason={}", peer_id, connection->remote, describe(e));
      } else {
        logger->warn("p2p inbound closed peer={} remote={} reason={}", peer_id, connection->remote, describe(e));
      }
    }
  }
  connection->close();
  if (peer) {
    std::lock_guard lock(peer->mutex);
    if (peer->inbound == connection) peer->inbound.reset();
  }
  connection->done = true;
}

}  // namespace eventnode::plugins::utxo::p2p
