#include "p2p_handshake_step.hpp"

#include "p2p_auth.hpp"

namespace eventnode::plugins::utxo::p2p {
namespace {

P2pHandshake ownHandshake(const P2pContext& context) {
  P2pHandshake handshake;
  handshake.node_id = context.config.self_id;
  handshake.network = context.config.network;
  handshake.listen_addr = context.listen_addr;
  handshake.timestamp = unixNow();
  return handshake;
}

}  // namespace

std::string handshakeBytes(const P2pContext& context, const P2pHandshake& handshake) {
  const auto& config = context.config;
  return encodeP2pMagic(config.network) + encodeP2pFrame(buildP2pHandshake(handshake), config.max_frame_bytes);
}

P2pHandshake readHandshake(const P2pContext& context, Poco::Net::StreamSocket& socket, P2pFrameDecoder& decoder,
                           std::vector<char>& buffer, const char* silence) {
  const auto& config = context.config;
  const plugin::Json body = readFrame(socket, decoder, buffer, silence);
  std::string error;
  auto handshake = parseP2pHandshake(body, error);
  if (!handshake) throw ProtocolError(error);
  if (handshake->network != config.network) {
    throw ProtocolError("handshake network " + std::string(networkName(handshake->network)) + ", expected " +
                        std::string(networkName(config.network)));
  }
  return std::move(*handshake);
}

P2pHandshake dialHandshake(const P2pContext& context, const std::string& peer_id) {
  auto dial = ownHandshake(context);
  if (context.config.authenticator) context.config.authenticator->signDial(dial, peer_id);
  return dial;
}

void checkAnswer(const P2pContext& context, const P2pHandshake& answer, const P2pHandshake& dial,
                 const std::string& peer_id) {
  if (answer.node_id != peer_id) {
    throw ProtocolError("handshake node_id " + answer.node_id + ", expected " + peer_id);
  }
  if (context.config.authenticator) {
    if (auto why = context.config.authenticator->checkAccept(answer, dial); !why.empty()) throw ProtocolError(why);
  }
}

std::shared_ptr<Peer> acceptDialer(const P2pContext& context, const P2pHandshake& dial) {
  const auto& config = context.config;
  if (dial.node_id == config.self_id) {
    throw ProtocolError("handshake node_id " + dial.node_id + " is this node's own id");
  }
  auto found = context.peers.find(dial.node_id);
  if (found == context.peers.end()) {
    throw ProtocolError("handshake node_id " + dial.node_id + " is not a configured masternode");
  }
  if (config.authenticator) {
    if (auto why = config.authenticator->checkDial(dial, unixNow()); !why.empty()) throw ProtocolError(why);
  }
  return found->second;
}

P2pHandshake answerHandshake(const P2pContext& context, const P2pHandshake& dial) {
  auto answer = ownHandshake(context);
  if (context.config.authenticator) context.config.authenticator->signAccept(answer, dial);
  return answer;
}

}  // namespace eventnode::plugins::utxo::p2p
