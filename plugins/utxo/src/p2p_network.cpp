// P2pNetwork: the parts of the mesh put together and started and stopped in
// order. The parts, one job each: p2p_listener (accepting), p2p_inbound_reader
// (serving an accepted connection), p2p_outbound_link (dialling and writing a
// peer's queue), p2p_peer (that queue), p2p_handshake_step, p2p_status.
#include "p2p_network.hpp"

#include "p2p_codec.hpp"
#include "p2p_context.hpp"
#include "p2p_listener.hpp"
#include "p2p_outbound_link.hpp"
#include "p2p_status.hpp"

#include <spdlog/logger.h>

#include <atomic>
#include <list>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

namespace eventnode::plugins::utxo {

using p2p::Frame;
using plugin::Json;

struct P2pNetwork::Impl {
  Impl(P2pConfig config, std::shared_ptr<spdlog::logger> logger, P2pMessageHandler handler, P2pPingBarrier barrier)
      : context(std::move(config), std::move(logger), std::move(handler), std::move(barrier)), listener(context) {}

  p2p::P2pContext context;
  p2p::P2pListener listener;

  std::mutex lifecycle_mutex;  // start/stop
  bool started = false;
  bool stopped = false;
  std::atomic<std::uint16_t> bound_port{0};
};

P2pNetwork::P2pNetwork(P2pConfig config, std::shared_ptr<spdlog::logger> logger, P2pMessageHandler handler,
                       P2pPingBarrier barrier)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(logger), std::move(handler), std::move(barrier))) {}

P2pNetwork::~P2pNetwork() {
  stop();
}

void P2pNetwork::start() {
  auto& impl = *impl_;
  auto& context = impl.context;
  std::lock_guard lifecycle(impl.lifecycle_mutex);
  if (impl.started) return;
  const auto& config = context.config;
  impl.bound_port = impl.listener.listen(config.listen_host, config.listen_port);
  context.listen_addr = config.advertised_address.empty()
                            ? config.listen_host + ":" + std::to_string(impl.bound_port.load())
                            : config.advertised_address;
  impl.started = true;
  context.logger->info("p2p listening address={}:{} node={} network={} peers={}", config.listen_host,
                       impl.bound_port.load(), config.self_id, networkName(config.network), context.peers.size());
  impl.listener.start();
  for (auto& [id, peer] : context.peers) {
    peer->link_thread = std::thread([&context, peer = peer] { p2p::runLink(context, peer); });
  }
}

void P2pNetwork::stop() {
  auto& impl = *impl_;
  auto& context = impl.context;
  std::lock_guard lifecycle(impl.lifecycle_mutex);
  if (!impl.started || impl.stopped) return;
  impl.stopped = true;
  context.stopping = true;

  for (auto& [id, peer] : context.peers) {
    std::lock_guard lock(peer->mutex);
    if (peer->out_socket) p2p::shutdownQuietly(*peer->out_socket);
    peer->wake.notify_all();
  }
  impl.listener.joinAcceptor();
  // The accept thread is gone, so nothing is added to this list any more.
  auto connections = impl.listener.takeConnections();
  for (auto& connection : connections) connection->close();
  for (auto& [id, peer] : context.peers) {
    if (peer->link_thread.joinable()) peer->link_thread.join();
  }
  for (auto& connection : connections) {
    if (connection->thread.joinable()) connection->thread.join();
  }
  impl.listener.close();
  context.logger->info("p2p stopped node={}", context.config.self_id);
}

void P2pNetwork::broadcast(const std::vector<plugin::Json>& messages) {
  auto& context = impl_->context;
  std::vector<Frame> frames;
  frames.reserve(messages.size());
  for (const auto& message : messages) {
    try {
      frames.push_back(std::make_shared<const std::string>(encodeP2pFrame(message, context.config.max_frame_bytes)));
    } catch (const std::length_error& e) {
      context.logger->warn("p2p broadcast not sent reason={}", e.what());
    }
  }
  // One encoded buffer per message, shared by every peer's queue.
  for (auto& [id, peer] : context.peers) peer->enqueue(frames);
}

void P2pNetwork::sendTo(const std::string& peer_id, const plugin::Json& message) {
  auto& context = impl_->context;
  auto found = context.peers.find(peer_id);
  if (found == context.peers.end()) return;
  try {
    found->second->enqueue(
        std::make_shared<const std::string>(encodeP2pFrame(message, context.config.max_frame_bytes)));
  } catch (const std::length_error& e) {
    context.logger->warn("p2p message not sent peer={} reason={}", peer_id, e.what());
  }
}

plugin::Json P2pNetwork::status() const {
  Json out = Json::array();
  for (const auto& [id, peer] : impl_->context.peers) out.push_back(p2p::peerStatus(id, *peer));
  return out;
}

std::uint16_t P2pNetwork::listenPort() const {
  return impl_->bound_port.load();
}

}  // namespace eventnode::plugins::utxo
