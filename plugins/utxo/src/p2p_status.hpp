#pragma once
/// How one peer's links look from here, for P2pNetwork::status() (the
/// admin API and the health report). Any thread.
#include "p2p_peer.hpp"

#include <eventnode/plugin/json.hpp>

#include <string>

namespace eventnode::plugins::utxo::p2p {

/// {"id","address","outbound":{"connected","since","reconnects","last_error","queued","unconfirmed","dropped"},
/// "inbound":{"connected","since"}}; takes the peer's lock.
plugin::Json peerStatus(const std::string& id, const Peer& peer);

}  // namespace eventnode::plugins::utxo::p2p
