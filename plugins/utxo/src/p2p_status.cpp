#include "p2p_status.hpp"

#include <mutex>

namespace eventnode::plugins::utxo::p2p {
namespace {

plugin::Json sinceJson(bool connected, std::int64_t since) {
  return connected ? plugin::Json(since) : plugin::Json(nullptr);
}

}  // namespace

plugin::Json peerStatus(const std::string& id, const Peer& peer) {
  using plugin::Json;
  std::lock_guard lock(peer.mutex);
  const bool in_connected = peer.inbound != nullptr;
  return Json{
      {"id", id},
      {"address", peer.address_text},
      {"outbound",
       {{"connected", peer.out_connected},
        {"since", sinceJson(peer.out_connected, peer.out_since)},
        {"reconnects", peer.reconnects},
        {"last_error", peer.last_error.empty() ? Json(nullptr) : Json(peer.last_error)},
        {"queued", peer.queue.size()},
        {"unconfirmed", peer.unconfirmed.size()},
        {"dropped", peer.dropped}}},
      {"inbound", {{"connected", in_connected}, {"since", sinceJson(in_connected, peer.in_since)}}},
  };
}

}  // namespace eventnode::plugins::utxo::p2p
