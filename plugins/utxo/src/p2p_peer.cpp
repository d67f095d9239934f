#include "p2p_peer.hpp"

#include <algorithm>
#include <iterator>

namespace eventnode::plugins::utxo::p2p {
namespace {

// Dropping the oldest queued messages is logged at the first drop and then
// once per this many, so a long outage does not flood the log.
constexpr std::uint64_t kDropLogEvery = 1000;

}  // namespace

// All under one lock and one wake-up: an engine batch's messages reach the
// writer together instead of waking it once per message.
void Peer::enqueue(std::span<const Frame> frames) {
  if (frames.empty()) return;
  std::uint64_t dropped_now = 0;
  {
    std::lock_guard lock(mutex);
    for (const auto& frame : frames) queue.push_back({next_seq++, frame});
    dropped_now = trimToLimit();
  }
  wake.notify_all();
  logDrops(dropped_now);
}

void Peer::confirmOldestPing() {
  {
    std::lock_guard lock(mutex);
    if (ping_marks.empty()) return;  // an unasked-for Pong confirms nothing
    confirmBefore(ping_marks.front());
    ping_marks.pop_front();
    if (!owesConfirmingPing()) return;
  }
  // Frames written after that Ping still wait, and the writer, which slept
  // while a Ping was in flight, now owes them one.
  wake.notify_all();
}

void Peer::requeueUnconfirmed() {
  std::uint64_t dropped_now = 0;
  std::size_t given_up = 0;
  {
    std::lock_guard lock(mutex);
    given_up = std::erase_if(unconfirmed, [](const QueuedFrame& item) { return item.writes >= kMaxUnconfirmedWrites; });
    dropped += given_up;
    queue.insert(queue.begin(), std::make_move_iterator(unconfirmed.begin()),
                 std::make_move_iterator(unconfirmed.end()));
    unconfirmed.clear();
    ping_marks.clear();
    dropped_now = trimToLimit();
  }
  if (given_up > 0) {
    logger->warn("p2p messages dropped after {} links failed before confirming them peer={} count={}",
                 kMaxUnconfirmedWrites, address.id, given_up);
  }
  logDrops(dropped_now);
}

// Keeps queued plus unconfirmed frames within max_queued, dropping the
// oldest first. Returns the running drop count if this call dropped any,
// else 0. Caller holds `mutex`.
std::uint64_t Peer::trimToLimit() {
  std::uint64_t dropped_now = 0;
  while (max_queued > 0 && queue.size() + unconfirmed.size() > max_queued) {
    if (!unconfirmed.empty()) {
      unconfirmed.pop_front();
    } else {
      queue.pop_front();
    }
    dropped_now = ++dropped;
  }
  return dropped_now;
}

void Peer::logDrops(std::uint64_t dropped_now) const {
  if (dropped_now == 1 || (dropped_now > 0 && dropped_now % kDropLogEvery == 0)) {
    logger->warn("p2p queue full, dropping oldest peer={} max_queued={} dropped_total={}", address.id, max_queued,
                 dropped_now);
  }
}

}  // namespace eventnode::plugins::utxo::p2p
