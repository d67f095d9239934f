#pragma once
/// One configured masternode: the send queue of its outbound link (which
/// p2p_outbound_link.hpp drains), that link's state, and the inbound
/// connection it dialled us on. Shared with reply closures, which may outlive
/// the network; every member below `mutex` is guarded by it.
///
/// A frame written to the socket is not yet delivered: if the peer dies, what
/// sat in its receive buffer or in flight is gone. So written frames stay in
/// `unconfirmed` until the peer answers a Ping written after them (TCP keeps
/// order, and a peer reads, and hands on, every frame before it answers the
/// Ping behind it). When the link fails, the unconfirmed frames go back to the
/// front of the queue and the next connection sends them again; receivers
/// ignore what they already have (a transaction or vote counts once).
#include "p2p_inbound_connection.hpp"
#include "p2p_link_io.hpp"
#include "p2p_network.hpp"

#include <Poco/Net/StreamSocket.h>

#include <spdlog/logger.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>

namespace eventnode::plugins::utxo::p2p {

/// A message written on this many links, each of which failed before a Pong
/// confirmed it, is dropped: a peer that closes the connection on it (say, a
/// frame over its size limit) would otherwise get it, and lose the link, forever.
constexpr std::uint32_t kMaxUnconfirmedWrites = 5;

/// A frame queued for one peer's outbound link. `seq` lets the writer remove
/// exactly what it sent even if overflow dropped older entries meanwhile.
struct QueuedFrame {
  std::uint64_t seq;
  Frame bytes;
  std::uint32_t writes = 0;  ///< links it was written on without a Pong confirming it
};

struct Peer {
  PeerAddress address;
  std::string address_text;
  std::size_t max_queued = 0;
  std::shared_ptr<spdlog::logger> logger;

  mutable std::mutex mutex;
  std::condition_variable wake;  ///< new frames queued, link failed, or stopping
  std::deque<QueuedFrame> queue;
  std::deque<QueuedFrame> unconfirmed;   ///< written on the current link, not yet confirmed by a Pong
  std::deque<std::uint64_t> ping_marks;  ///< per Ping in flight: the seq after the last frame written before it
  std::uint64_t next_seq = 0;
  std::uint64_t dropped = 0;

  bool out_connected = false;
  std::int64_t out_since = 0;
  std::uint64_t reconnects = 0;
  std::string last_error;
  std::optional<Poco::Net::StreamSocket> out_socket;  ///< kept so stop() can wake the link

  std::shared_ptr<InboundConnection> inbound;
  std::int64_t in_since = 0;

  std::thread link_thread;

  /// Queues frames for the outbound link, dropping the oldest beyond
  /// max_queued; any thread, never blocks on the network.
  void enqueue(Frame frame) { enqueue(std::span<const Frame>(&frame, 1)); }
  void enqueue(std::span<const Frame> frames);

  /// Written frames wait and no Ping is in flight to confirm them. Caller holds `mutex`.
  bool owesConfirmingPing() const { return !unconfirmed.empty() && ping_marks.empty(); }

  /// Frames written on the link up to `seq_end` (exclusive) reached the peer. Caller holds `mutex`.
  void confirmBefore(std::uint64_t seq_end) {
    while (!unconfirmed.empty() && unconfirmed.front().seq < seq_end) unconfirmed.pop_front();
  }

  /// A Pong: the oldest Ping in flight was answered.
  void confirmOldestPing();

  /// The link failed: what it did not confirm is sent again, first, on the
  /// next one, unless it already went out kMaxUnconfirmedWrites times.
  void requeueUnconfirmed();

 private:
  std::uint64_t trimToLimit();
  void logDrops(std::uint64_t dropped_now) const;
};

}  // namespace eventnode::plugins::utxo::p2p
