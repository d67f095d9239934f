#include "p2p_outbound_link.hpp"

#include "p2p_handshake_step.hpp"

#include <eventnode/plugin/backoff.hpp>

#include <Poco/Exception.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace eventnode::plugins::utxo::p2p {
namespace {

// One write carries up to this many queued bytes, so a backlog after a
// reconnect drains in few syscalls without building one huge buffer.
constexpr std::size_t kBatchBytes = 256 * 1024;
// Written frames are confirmed by a Pong (see Peer): at most one confirming
// Ping per this interval while frames wait, so the peer answers a handful of
// Pings a second however busy the link, and a crash resends only the last
// interval's worth of frames.
constexpr auto kConfirmInterval = std::chrono::milliseconds(20);

// Waits until `deadline` or stop, whichever comes first.
void waitUntil(P2pContext& context, Peer& peer, Clock::time_point deadline) {
  std::unique_lock lock(peer.mutex);
  peer.wake.wait_until(lock, deadline, [&] { return context.stopping.load(); });
}

Poco::Net::StreamSocket dialSocket(P2pContext& context, Peer& peer) {
  Poco::Net::SocketAddress address;
  try {
    address = Poco::Net::SocketAddress(peer.address.host, peer.address.port);
  } catch (const Poco::Exception& e) {
    throw LinkError("cannot resolve " + peer.address_text + ": " + e.displayText());
  }
  Poco::Net::StreamSocket socket(address.family());
  {
    std::lock_guard lock(peer.mutex);
    if (context.stopping) throw LinkError("stopping");
    peer.out_socket = socket;
  }
  socket.connectNB(address);
  const auto deadline = Clock::now() + context.config.dial_timeout;
  for (;;) {
    if (context.stopping) throw LinkError("stopping");
    if (socket.poll(toTimespan(kPollSlice), Poco::Net::Socket::SELECT_WRITE | Poco::Net::Socket::SELECT_ERROR)) {
      break;
    }
    if (Clock::now() >= deadline) {
      throw LinkError("dial timed out after " + std::to_string(context.config.dial_timeout.count()) + " ms");
    }
  }
  if (const int code = socket.impl()->socketError(); code != 0) {
    throw LinkError("connect failed: " + std::string(std::strerror(code)));
  }
  socket.setBlocking(true);
  return socket;
}

void runOutbound(P2pContext& context, const std::shared_ptr<Peer>& peer_ptr, bool& handshaken) {
  const auto& config = context.config;
  const auto& logger = context.logger;
  const auto& stopping = context.stopping;
  Peer& peer = *peer_ptr;
  Poco::Net::StreamSocket socket = dialSocket(context, peer);
  socket.setNoDelay(true);
  socket.setReceiveTimeout(toTimespan(config.dial_timeout));
  socket.setSendTimeout(toTimespan(config.dial_timeout));
  const auto dial = dialHandshake(context, peer.address.id);
  sendAll(socket, handshakeBytes(context, dial));

  std::vector<char> buffer(kReadChunk);
  P2pFrameDecoder decoder(config.max_frame_bytes, p2pMagic(config.network));
  const auto handshake = readHandshake(context, socket, decoder, buffer, "no handshake reply within the dial timeout");
  checkAnswer(context, handshake, dial, peer.address.id);
  handshaken = true;
  {
    std::lock_guard lock(peer.mutex);
    peer.out_connected = true;
    peer.out_since = unixNow();
    peer.last_error.clear();
  }
  logger->info("p2p outbound connected peer={} address={}", peer.address.id, peer.address_text);
  socket.setReceiveTimeout(toTimespan(context.silenceLimit()));
  socket.setSendTimeout(toTimespan(context.silenceLimit()));

  // The reader consumes Pongs (any frame proves the link alive) and hands
  // replies to the handler; the writer below owns the queue and the pings.
  std::atomic<bool> reader_done{false};
  std::string reader_error;
  std::thread reader([&, peer_ptr] {
    try {
      const std::weak_ptr<Peer> weak = peer_ptr;
      const std::size_t max_frame = config.max_frame_bytes;
      const auto log = logger;
      const std::string peer_id = peer.address.id;
      const P2pReply reply = [weak, max_frame, log, peer_id](const plugin::Json& message) {
        auto target = weak.lock();
        if (!target) return;
        try {
          target->enqueue(std::make_shared<const std::string>(encodeP2pFrame(message, max_frame)));
        } catch (const std::length_error& e) {
          log->warn("p2p reply not sent peer={} reason={}", peer_id, e.what());
        }
      };
      std::string check_error;
      for (;;) {
        const plugin::Json message = readFrame(socket, decoder, buffer, "silent for 3 ping intervals");
        const auto kind = checkP2pMessage(message, check_error);
        if (!kind) throw ProtocolError(check_error);
        if (*kind == P2pMessageKind::Ping) {
          // Answered at once: what comes back on our own link are replies,
          // which the peer does not hold for resending, so there is nothing
          // to confirm; and a reader that waited on the engine here could
          // deadlock with an engine writing to this peer.
          peer.enqueue(context.pong_frame);
        } else if (*kind == P2pMessageKind::Pong) {
          peer.confirmOldestPing();
        } else {
          context.deliver(peer_id, message, reply);
        }
      }
    } catch (const ProtocolError& e) {
      reader_error = std::string("malformed: ") + e.what();
    } catch (const std::exception& e) {
      reader_error = describe(e);
    }
    {
      std::lock_guard lock(peer.mutex);
      reader_done = true;
    }
    peer.wake.notify_all();
  });

  std::string writer_error;
  try {
    auto last_ping = Clock::now();
    auto next_ping = last_ping + config.ping_interval;
    std::string batch;
    for (;;) {
      std::uint64_t last_seq = 0;
      bool have_frames = false;
      bool ping_due = false;
      batch.clear();
      {
        std::unique_lock lock(peer.mutex);
        const bool owed = peer.owesConfirmingPing();
        const auto deadline = owed ? std::min(next_ping, last_ping + kConfirmInterval) : next_ping;
        peer.wake.wait_until(lock, deadline, [&] {
          return stopping.load() || reader_done.load() || !peer.queue.empty() ||
                 // a Pong came while frames wait: the deadline above is stale
                 (!owed && peer.owesConfirmingPing());
        });
        if (stopping || reader_done) break;
        for (const auto& item : peer.queue) {
          if (have_frames && batch.size() + item.bytes->size() > kBatchBytes) break;
          batch += *item.bytes;
          last_seq = item.seq;
          have_frames = true;
        }
        // From here the frames count as written: held until a Pong confirms
        // them (see Peer), and sent again on the next link if this write
        // fails. Our own Pongs are not worth sending twice.
        while (have_frames && !peer.queue.empty() && peer.queue.front().seq <= last_seq) {
          if (peer.queue.front().bytes != context.pong_frame) {
            peer.unconfirmed.push_back(std::move(peer.queue.front()));
            ++peer.unconfirmed.back().writes;
          }
          peer.queue.pop_front();
        }
        const auto now = Clock::now();
        ping_due = now >= next_ping || (peer.owesConfirmingPing() && now >= last_ping + kConfirmInterval);
        if (ping_due) {
          peer.ping_marks.push_back(peer.unconfirmed.empty() ? 0 : peer.unconfirmed.back().seq + 1);
        }
      }
      if (ping_due) batch += *context.ping_frame;
      if (batch.empty()) continue;
      sendAll(socket, batch);
      if (ping_due) {
        last_ping = Clock::now();
        next_ping = last_ping + config.ping_interval;
      }
    }
  } catch (const std::exception& e) {
    writer_error = describe(e);
  }
  shutdownQuietly(socket);
  reader.join();
  if (stopping) throw LinkError("stopping");
  const std::string& reason = writer_error.empty() ? reader_error : writer_error;
  if (reason.rfind("malformed: ", 0) == 0) throw ProtocolError(reason.substr(std::strlen("malformed: ")));
  throw LinkError(reason);
}

}  // namespace

void runLink(P2pContext& context, const std::shared_ptr<Peer>& peer_ptr) {
  const auto& config = context.config;
  const auto& logger = context.logger;
  Peer& peer = *peer_ptr;
  // Full jitter: masternodes restarted together must not redial in lockstep.
  plugin::Backoff backoff({.min = config.reconnect_min, .max = config.reconnect_max, .full_jitter = true});
  bool first_attempt = true;
  std::string last_logged_error;
  while (!context.stopping) {
    if (!first_attempt) {
      std::lock_guard lock(peer.mutex);
      ++peer.reconnects;
    }
    first_attempt = false;

    bool handshaken = false;
    std::string error;
    bool malformed = false;
    try {
      runOutbound(context, peer_ptr, handshaken);
    } catch (const ProtocolError& e) {
      error = std::string("malformed: ") + e.what();
      malformed = true;
    } catch (const std::exception& e) {
      error = describe(e);
    }
    {
      std::lock_guard lock(peer.mutex);
      peer.out_connected = false;
      peer.out_socket.reset();
      if (!context.stopping) peer.last_error = error;
    }
    peer.requeueUnconfirmed();
    if (context.stopping) break;

    if (handshaken) {
      backoff.reset();
      last_logged_error.clear();
      logger->info("p2p outbound disconnected peer={} address={} reason={}", peer.address.id, peer.address_text, error);
    } else if (malformed || error != last_logged_error) {
      // A peer that stays down fails the same way on every redial: warn once, then debug.
      logger->warn("p2p dial failed peer={} address={} reason={}", peer.address.id, peer.address_text, error);
      last_logged_error = error;
    } else {
      logger->debug("p2p dial failed again peer={} address={} reason={}", peer.address.id, peer.address_text, error);
    }

    waitUntil(context, peer, Clock::now() + backoff.next());
  }
}

}  // namespace eventnode::plugins::utxo::p2p
