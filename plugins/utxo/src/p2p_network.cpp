#include "p2p_network.hpp"

#include "p2p_auth.hpp"
#include "p2p_codec.hpp"

#include <eventnode/plugin/backoff.hpp>

#include <Poco/Exception.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Timespan.h>

#include <spdlog/logger.h>

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <thread>
#include <utility>

namespace eventnode::plugins::utxo {
namespace {

using plugin::Json;
using Clock = std::chrono::steady_clock;
using Frame = std::shared_ptr<const std::string>;

constexpr std::size_t kReadChunk = 64 * 1024;
// One write carries up to this many queued bytes, so a backlog after a
// reconnect drains in few syscalls without building one huge buffer.
constexpr std::size_t kBatchBytes = 256 * 1024;
// Accept and dial wait in slices this long so stop() is seen promptly even
// where closing a socket does not wake a blocked poll.
constexpr auto kPollSlice = std::chrono::milliseconds(50);
// A flood of raw connections must not become a flood of threads.
constexpr std::size_t kMaxInboundConnections = 256;
// Dropping the oldest queued messages is logged at the first drop and then
// once per this many, so a long outage does not flood the log.
constexpr std::uint64_t kDropLogEvery = 1000;
// Written frames are confirmed by a Pong (see Peer): at most one confirming
// Ping per this interval while frames wait, so the peer answers a handful of
// Pings a second however busy the link, and a crash resends only the last
// interval's worth of frames.
constexpr auto kConfirmInterval = std::chrono::milliseconds(20);
// A message written on this many links, each of which failed before a Pong
// confirmed it, is dropped: a peer that closes the connection on it (say, a
// frame over its size limit) would otherwise get it, and lose the link, forever.
constexpr std::uint32_t kMaxUnconfirmedWrites = 5;

// The peer's stream broke the protocol: closes that connection only, logged as a warning.
class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The connection failed or ended (EOF, timeout, reset).
class LinkError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Poco::Timespan toTimespan(std::chrono::milliseconds duration) {
  return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(duration.count()) * 1000);
}

Json sinceJson(bool connected, std::int64_t since) {
  return connected ? Json(since) : Json(nullptr);
}

std::string describe(const std::exception& e) {
  if (const auto* poco = dynamic_cast<const Poco::Exception*>(&e)) return poco->displayText();
  return e.what();
}

void sendAll(Poco::Net::StreamSocket& socket, const std::string& bytes) {
  const char* data = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const int chunk = static_cast<int>(std::min<std::size_t>(left, 1u << 30));
    int sent = 0;
    try {
      // MSG_NOSIGNAL: a peer that vanished must fail this send, not kill the process with SIGPIPE.
      sent = socket.sendBytes(data, chunk, MSG_NOSIGNAL);
    } catch (const Poco::TimeoutException&) {
      throw LinkError("send timed out (peer not reading)");
    } catch (const Poco::Exception& e) {
      throw LinkError("send failed: " + e.displayText());
    }
    if (sent <= 0) throw LinkError("connection closed while sending");
    data += sent;
    left -= static_cast<std::size_t>(sent);
  }
}

// Wakes a thread blocked in receive or send on this socket; close() would
// race with that thread's use of the descriptor, shutdown() does not.
void shutdownQuietly(Poco::Net::StreamSocket& socket) {
  try {
    socket.shutdown();
  } catch (...) {
    // Not connected (yet or any more): nothing to wake.
  }
}

Json readFrame(Poco::Net::StreamSocket& socket, P2pFrameDecoder& decoder, std::vector<char>& buffer,
               const char* silence) {
  Json body;
  for (;;) {
    switch (decoder.next(body)) {
      case P2pFrameDecoder::Status::Frame:
        return body;
      case P2pFrameDecoder::Status::Error:
        throw ProtocolError(decoder.error());
      case P2pFrameDecoder::Status::NeedMore:
        break;
    }
    int received = 0;
    try {
      received = socket.receiveBytes(buffer.data(), static_cast<int>(buffer.size()));
    } catch (const Poco::TimeoutException&) {
      throw LinkError(silence);
    } catch (const Poco::Exception& e) {
      throw LinkError("receive failed: " + e.displayText());
    }
    if (received <= 0) throw LinkError("connection closed by the other side");
    decoder.feed(buffer.data(), static_cast<std::size_t>(received));
  }
}

// Frames queued for one peer's outbound link. `seq` lets the writer remove
// exactly what it sent even if overflow dropped older entries meanwhile.
struct QueuedFrame {
  std::uint64_t seq;
  Frame bytes;
  std::uint32_t writes = 0;  // links it was written on without a Pong confirming it
};

// A connection this node accepted. Writes come from its reading thread (Pong,
// handshake) and from any thread holding a reply; they are serialized without
// a lock held during I/O: whoever finds no writer active becomes the writer
// and drains the pending frames.
struct InboundConnection {
  explicit InboundConnection(Poco::Net::StreamSocket s) : socket(std::move(s)) {}

  void send(Frame frame) {
    {
      std::lock_guard lock(mutex);
      if (closed) return;
      pending.push_back(std::move(frame));
      if (writing) return;
      writing = true;
    }
    for (;;) {
      std::deque<Frame> batch;
      {
        std::lock_guard lock(mutex);
        if (closed || pending.empty()) {
          writing = false;
          pending.clear();
          return;
        }
        batch.swap(pending);
      }
      try {
        for (const auto& item : batch) sendAll(socket, *item);
      } catch (const std::exception&) {
        // The reading thread sees the shutdown and reports the disconnect.
        close();
        std::lock_guard lock(mutex);
        writing = false;
        return;
      }
    }
  }

  void close() {
    {
      std::lock_guard lock(mutex);
      closed = true;
    }
    shutdownQuietly(socket);
  }

  Poco::Net::StreamSocket socket;
  std::string remote;
  std::thread thread;
  std::atomic<bool> done{false};

  std::mutex mutex;
  std::deque<Frame> pending;
  bool writing = false;
  bool closed = false;
};

// One configured masternode: its outbound queue and link state, and the
// inbound connection it dialled us on. Shared with reply closures, which may
// outlive the network.
//
// A frame written to the socket is not yet delivered: if the peer dies, what
// sat in its receive buffer or in flight is gone. So written frames stay in
// `unconfirmed` until the peer answers a Ping written after them (TCP keeps
// order, and a peer reads, and hands on, every frame before it answers the
// Ping behind it). When the link fails, the unconfirmed frames go back to the
// front of the queue and the next connection sends them again; receivers
// ignore what they already have (a transaction or vote counts once).
struct Peer {
  PeerAddress address;
  std::string address_text;
  std::size_t max_queued = 0;
  std::shared_ptr<spdlog::logger> logger;

  mutable std::mutex mutex;
  std::condition_variable wake;  // new frames queued, link failed, or stopping
  std::deque<QueuedFrame> queue;
  std::deque<QueuedFrame> unconfirmed;   // written on the current link, not yet confirmed by a Pong
  std::deque<std::uint64_t> ping_marks;  // per Ping in flight: the seq after the last frame written before it
  std::uint64_t next_seq = 0;
  std::uint64_t dropped = 0;

  bool out_connected = false;
  std::int64_t out_since = 0;
  std::uint64_t reconnects = 0;
  std::string last_error;
  std::optional<Poco::Net::StreamSocket> out_socket;  // kept so stop() can wake the link

  std::shared_ptr<InboundConnection> inbound;
  std::int64_t in_since = 0;

  std::thread link_thread;

  void enqueue(Frame frame) { enqueue(std::span<const Frame>(&frame, 1)); }

  // All under one lock and one wake-up: an engine batch's messages reach the
  // writer together instead of waking it once per message.
  void enqueue(std::span<const Frame> frames) {
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

  // Written frames wait and no Ping is in flight to confirm them. Caller holds `mutex`.
  bool owesConfirmingPing() const { return !unconfirmed.empty() && ping_marks.empty(); }

  // Frames written on the link up to `seq_end` (exclusive) reached the peer. Caller holds `mutex`.
  void confirmBefore(std::uint64_t seq_end) {
    while (!unconfirmed.empty() && unconfirmed.front().seq < seq_end) unconfirmed.pop_front();
  }

  // A Pong: the oldest Ping in flight was answered.
  void confirmOldestPing() {
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

  // The link failed: what it did not confirm is sent again, first, on the next
  // one, unless it already went out kMaxUnconfirmedWrites times.
  void requeueUnconfirmed() {
    std::uint64_t dropped_now = 0;
    std::size_t given_up = 0;
    {
      std::lock_guard lock(mutex);
      given_up =
          std::erase_if(unconfirmed, [](const QueuedFrame& item) { return item.writes >= kMaxUnconfirmedWrites; });
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

 private:
  // Keeps queued plus unconfirmed frames within max_queued, dropping the
  // oldest first. Returns the running drop count if this call dropped any,
  // else 0. Caller holds `mutex`.
  std::uint64_t trimToLimit() {
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

  void logDrops(std::uint64_t dropped_now) const {
    if (dropped_now == 1 || (dropped_now > 0 && dropped_now % kDropLogEvery == 0)) {
      logger->warn("p2p queue full, dropping oldest peer={} max_queued={} dropped_total={}", address.id, max_queued,
                   dropped_now);
    }
  }
};

}  // namespace

struct P2pNetwork::Impl {
  Impl(P2pConfig cfg, std::shared_ptr<spdlog::logger> log, P2pMessageHandler h, P2pPingBarrier b)
      : config(std::move(cfg)), logger(std::move(log)), handler(std::move(h)), barrier(std::move(b)) {
    for (const auto& address : config.peers) {
      if (address.id == config.self_id) {
        logger->warn("p2p peer list names this node, ignored peer={}", address.id);
        continue;
      }
      if (peers.count(address.id)) {
        logger->warn("p2p peer listed twice, first kept peer={}", address.id);
        continue;
      }
      auto peer = std::make_shared<Peer>();
      peer->address = address;
      peer->address_text = address.host + ":" + std::to_string(address.port);
      peer->max_queued = config.max_queued_per_peer;
      peer->logger = logger;
      peers.emplace(address.id, std::move(peer));
    }
    ping_frame = std::make_shared<const std::string>(encodeP2pFrame(Json("Ping")));
    pong_frame = std::make_shared<const std::string>(encodeP2pFrame(Json("Pong")));
  }

  std::chrono::milliseconds silenceLimit() const { return config.ping_interval * 3; }

  P2pHandshake ownHandshake() const {
    P2pHandshake handshake;
    handshake.node_id = config.self_id;
    handshake.network = config.network;
    handshake.listen_addr = listen_addr;
    handshake.timestamp = unixNow();
    return handshake;
  }

  std::string handshakeBytes(const P2pHandshake& handshake) const {
    return encodeP2pMagic(config.network) + encodeP2pFrame(buildP2pHandshake(handshake), config.max_frame_bytes);
  }

  // Whether a Ping from `peer_id` may be answered now (see P2pPingBarrier).
  bool mayAnswerPing(const std::string& peer_id) {
    if (!barrier) return true;
    try {
      if (barrier()) return true;
    } catch (const std::exception& e) {
      logger->warn("p2p ping barrier failed peer={} reason={}", peer_id, e.what());
    }
    logger->debug("p2p ping not answered peer={}: earlier messages are not durable", peer_id);
    return false;
  }

  void deliver(const std::string& peer_id, const Json& message, const P2pReply& reply) {
    try {
      handler(peer_id, message, reply);
    } catch (const std::exception& e) {
      // A handler bug is not the peer's fault: the connection stays.
      logger->warn("p2p handler failed peer={} reason={}", peer_id, e.what());
    }
  }

  // ---- listener -----------------------------------------------------------

  void acceptLoop() {
    while (!stopping) {
      reapInbound();
      Poco::Net::StreamSocket socket;
      try {
        if (!listener.poll(toTimespan(kPollSlice), Poco::Net::Socket::SELECT_READ)) continue;
        socket = listener.acceptConnection();
      } catch (const std::exception& e) {
        if (stopping) break;
        logger->warn("p2p accept failed reason={}", describe(e));
        continue;
      }
      auto connection = std::make_shared<InboundConnection>(socket);
      try {
        connection->remote = socket.peerAddress().toString();
      } catch (...) {
        connection->remote = "unknown";
      }
      {
        std::lock_guard lock(inbound_mutex);
        if (stopping) {
          connection->close();
          break;
        }
        if (inbound_connections.size() >= kMaxInboundConnections) {
          logger->warn("p2p inbound refused remote={} reason=too many connections ({})", connection->remote,
                       kMaxInboundConnections);
          connection->close();
          continue;
        }
        inbound_connections.push_back(connection);
        connection->thread = std::thread([this, connection] { runInbound(connection); });
      }
    }
  }

  void reapInbound() {
    std::list<std::shared_ptr<InboundConnection>> finished;
    {
      std::lock_guard lock(inbound_mutex);
      for (auto it = inbound_connections.begin(); it != inbound_connections.end();) {
        if ((*it)->done) {
          finished.push_back(*it);
          it = inbound_connections.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& connection : finished) {
      if (connection->thread.joinable()) connection->thread.join();
    }
  }

  /// The peer's handshake, checked for shape and network (both ends check the same way).
  auto readHandshake(Poco::Net::StreamSocket& socket, P2pFrameDecoder& decoder, std::vector<char>& buffer,
                     const char* silence) {
    const Json body = readFrame(socket, decoder, buffer, silence);
    std::string error;
    auto handshake = parseP2pHandshake(body, error);
    if (!handshake) throw ProtocolError(error);
    if (handshake->network != config.network) {
      throw ProtocolError("handshake network " + std::string(networkName(handshake->network)) + ", expected " +
                          std::string(networkName(config.network)));
    }
    return handshake;
  }

  void runInbound(const std::shared_ptr<InboundConnection>& connection) {
    std::shared_ptr<Peer> peer;
    std::string peer_id = "unknown";
    try {
      auto& socket = connection->socket;
      socket.setNoDelay(true);
      socket.setReceiveTimeout(toTimespan(config.dial_timeout));
      socket.setSendTimeout(toTimespan(config.dial_timeout));
      std::vector<char> buffer(kReadChunk);
      P2pFrameDecoder decoder(config.max_frame_bytes, p2pMagic(config.network));

      const auto handshake = readHandshake(socket, decoder, buffer, "no handshake within the dial timeout");
      if (handshake->node_id == config.self_id) {
        throw ProtocolError("handshake node_id " + handshake->node_id + " is this node's own id");
      }
      auto found = peers.find(handshake->node_id);
      if (found == peers.end()) {
        throw ProtocolError("handshake node_id " + handshake->node_id + " is not a configured masternode");
      }
      if (config.authenticator) {
        if (auto why = config.authenticator->checkDial(*handshake, unixNow()); !why.empty()) throw ProtocolError(why);
      }
      peer = found->second;
      peer_id = handshake->node_id;

      auto answer = ownHandshake();
      if (config.authenticator) config.authenticator->signAccept(answer, *handshake);
      connection->send(std::make_shared<const std::string>(handshakeBytes(answer)));
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

      socket.setReceiveTimeout(toTimespan(silenceLimit()));
      socket.setSendTimeout(toTimespan(silenceLimit()));
      const std::weak_ptr<InboundConnection> weak = connection;
      const std::size_t max_frame = config.max_frame_bytes;
      const auto log = logger;
      const P2pReply reply = [weak, max_frame, log, peer_id](const Json& message) {
        auto target = weak.lock();
        if (!target) return;
        try {
          target->send(std::make_shared<const std::string>(encodeP2pFrame(message, max_frame)));
        } catch (const std::length_error& e) {
          log->warn("p2p reply not sent peer={} reason={}", peer_id, e.what());
        }
      };
      for (;;) {
        const Json message = readFrame(socket, decoder, buffer, "silent for 3 ping intervals");
        std::string error;
        const auto kind = checkP2pMessage(message, error);
        if (!kind) throw ProtocolError(error);
        if (*kind == P2pMessageKind::Ping) {
          if (mayAnswerPing(peer_id)) connection->send(pong_frame);
        } else if (*kind != P2pMessageKind::Pong) {
          deliver(peer_id, message, reply);
        }
      }
    } catch (const ProtocolError& e) {
      if (!stopping) {
        logger->warn("p2p inbound closed peer={} remote={} reason=malformed: {}", peer_id, connection->remote,
                     e.what());
      }
    } catch (const std::exception& e) {
      if (!stopping) {
        if (peer) {
          logger->info("p2p inbound disconnected peer={} remote={} reason={}", peer_id, connection->remote,
                       describe(e));
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

  // ---- outbound links -----------------------------------------------------

  // Waits until `deadline` or stop, whichever comes first.
  void waitUntil(Peer& peer, Clock::time_point deadline) {
    std::unique_lock lock(peer.mutex);
    peer.wake.wait_until(lock, deadline, [&] { return stopping.load(); });
  }

  void runLink(const std::shared_ptr<Peer>& peer_ptr) {
    Peer& peer = *peer_ptr;
    // Full jitter: masternodes restarted together must not redial in lockstep.
    plugin::Backoff backoff({.min = config.reconnect_min, .max = config.reconnect_max, .full_jitter = true});
    bool first_attempt = true;
    std::string last_logged_error;
    while (!stopping) {
      if (!first_attempt) {
        std::lock_guard lock(peer.mutex);
        ++peer.reconnects;
      }
      first_attempt = false;

      bool handshaken = false;
      std::string error;
      bool malformed = false;
      try {
        runOutbound(peer_ptr, handshaken);
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
        if (!stopping) peer.last_error = error;
      }
      peer.requeueUnconfirmed();
      if (stopping) break;

      if (handshaken) {
        backoff.reset();
        last_logged_error.clear();
        logger->info("p2p outbound disconnected peer={} address={} reason={}", peer.address.id, peer.address_text,
                     error);
      } else if (malformed || error != last_logged_error) {
        // A peer that stays down fails the same way on every redial: warn once, then debug.
        logger->warn("p2p dial failed peer={} address={} reason={}", peer.address.id, peer.address_text, error);
        last_logged_error = error;
      } else {
        logger->debug("p2p dial failed again peer={} address={} reason={}", peer.address.id, peer.address_text, error);
      }

      waitUntil(peer, Clock::now() + backoff.next());
    }
  }

  Poco::Net::StreamSocket dial(Peer& peer) {
    Poco::Net::SocketAddress address;
    try {
      address = Poco::Net::SocketAddress(peer.address.host, peer.address.port);
    } catch (const Poco::Exception& e) {
      throw LinkError("cannot resolve " + peer.address_text + ": " + e.displayText());
    }
    Poco::Net::StreamSocket socket(address.family());
    {
      std::lock_guard lock(peer.mutex);
      if (stopping) throw LinkError("stopping");
      peer.out_socket = socket;
    }
    socket.connectNB(address);
    const auto deadline = Clock::now() + config.dial_timeout;
    for (;;) {
      if (stopping) throw LinkError("stopping");
      if (socket.poll(toTimespan(kPollSlice), Poco::Net::Socket::SELECT_WRITE | Poco::Net::Socket::SELECT_ERROR)) {
        break;
      }
      if (Clock::now() >= deadline) {
        throw LinkError("dial timed out after " + std::to_string(config.dial_timeout.count()) + " ms");
      }
    }
    if (const int code = socket.impl()->socketError(); code != 0) {
      throw LinkError("connect failed: " + std::string(std::strerror(code)));
    }
    socket.setBlocking(true);
    return socket;
  }

  void runOutbound(const std::shared_ptr<Peer>& peer_ptr, bool& handshaken) {
    Peer& peer = *peer_ptr;
    Poco::Net::StreamSocket socket = dial(peer);
    socket.setNoDelay(true);
    socket.setReceiveTimeout(toTimespan(config.dial_timeout));
    socket.setSendTimeout(toTimespan(config.dial_timeout));
    auto dial = ownHandshake();
    if (config.authenticator) config.authenticator->signDial(dial, peer.address.id);
    sendAll(socket, handshakeBytes(dial));

    std::vector<char> buffer(kReadChunk);
    P2pFrameDecoder decoder(config.max_frame_bytes, p2pMagic(config.network));
    const auto handshake = readHandshake(socket, decoder, buffer, "no handshake reply within the dial timeout");
    if (handshake->node_id != peer.address.id) {
      throw ProtocolError("handshake node_id " + handshake->node_id + ", expected " + peer.address.id);
    }
    if (config.authenticator) {
      if (auto why = config.authenticator->checkAccept(*handshake, dial); !why.empty()) throw ProtocolError(why);
    }
    handshaken = true;
    {
      std::lock_guard lock(peer.mutex);
      peer.out_connected = true;
      peer.out_since = unixNow();
      peer.last_error.clear();
    }
    logger->info("p2p outbound connected peer={} address={}", peer.address.id, peer.address_text);
    socket.setReceiveTimeout(toTimespan(silenceLimit()));
    socket.setSendTimeout(toTimespan(silenceLimit()));

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
        const P2pReply reply = [weak, max_frame, log, peer_id](const Json& message) {
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
          const Json message = readFrame(socket, decoder, buffer, "silent for 3 ping intervals");
          const auto kind = checkP2pMessage(message, check_error);
          if (!kind) throw ProtocolError(check_error);
          if (*kind == P2pMessageKind::Ping) {
            // Answered at once: what comes back on our own link are replies,
            // which the peer does not hold for resending, so there is nothing
            // to confirm; and a reader that waited on the engine here could
            // deadlock with an engine writing to this peer.
            peer.enqueue(pong_frame);
          } else if (*kind == P2pMessageKind::Pong) {
            peer.confirmOldestPing();
          } else {
            deliver(peer_id, message, reply);
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
            if (peer.queue.front().bytes != pong_frame) {
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
        if (ping_due) batch += *ping_frame;
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

  // ---- state --------------------------------------------------------------

  P2pConfig config;
  std::shared_ptr<spdlog::logger> logger;
  P2pMessageHandler handler;
  P2pPingBarrier barrier;
  std::map<std::string, std::shared_ptr<Peer>> peers;  // fixed after construction
  Frame ping_frame;
  Frame pong_frame;
  std::string listen_addr;

  std::mutex lifecycle_mutex;  // start/stop
  bool started = false;
  bool stopped = false;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint16_t> bound_port{0};
  Poco::Net::ServerSocket listener;
  std::thread accept_thread;

  std::mutex inbound_mutex;
  std::list<std::shared_ptr<InboundConnection>> inbound_connections;
};

P2pNetwork::P2pNetwork(P2pConfig config, std::shared_ptr<spdlog::logger> logger, P2pMessageHandler handler,
                       P2pPingBarrier barrier)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(logger), std::move(handler), std::move(barrier))) {}

P2pNetwork::~P2pNetwork() {
  stop();
}

void P2pNetwork::start() {
  auto& impl = *impl_;
  std::lock_guard lifecycle(impl.lifecycle_mutex);
  if (impl.started) return;
  const auto& config = impl.config;
  const std::string where = config.listen_host + ":" + std::to_string(config.listen_port);
  try {
    // Bound by hand: Poco's convenience constructors also set SO_REUSEPORT,
    // which would let a second node share the port silently instead of failing.
    const Poco::Net::SocketAddress address(config.listen_host, config.listen_port);
    impl.listener.bind(address, true, false);
    impl.listener.listen(64);
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("cannot listen for masternode P2P on " + where + ": " + e.displayText() +
                             "; change p2p.listen or stop the other process");
  }
  impl.bound_port = impl.listener.address().port();
  impl.listen_addr = config.advertised_address.empty()
                         ? config.listen_host + ":" + std::to_string(impl.bound_port.load())
                         : config.advertised_address;
  impl.started = true;
  impl.logger->info("p2p listening address={}:{} node={} network={} peers={}", config.listen_host,
                    impl.bound_port.load(), config.self_id, networkName(config.network), impl.peers.size());
  impl.accept_thread = std::thread([&impl] { impl.acceptLoop(); });
  for (auto& [id, peer] : impl.peers) {
    peer->link_thread = std::thread([&impl, peer = peer] { impl.runLink(peer); });
  }
}

void P2pNetwork::stop() {
  auto& impl = *impl_;
  std::lock_guard lifecycle(impl.lifecycle_mutex);
  if (!impl.started || impl.stopped) return;
  impl.stopped = true;
  impl.stopping = true;

  for (auto& [id, peer] : impl.peers) {
    std::lock_guard lock(peer->mutex);
    if (peer->out_socket) shutdownQuietly(*peer->out_socket);
    peer->wake.notify_all();
  }
  if (impl.accept_thread.joinable()) impl.accept_thread.join();
  std::list<std::shared_ptr<InboundConnection>> connections;
  {
    // The accept thread is gone, so nothing is added to this list any more.
    std::lock_guard lock(impl.inbound_mutex);
    connections.swap(impl.inbound_connections);
  }
  for (auto& connection : connections) connection->close();
  for (auto& [id, peer] : impl.peers) {
    if (peer->link_thread.joinable()) peer->link_thread.join();
  }
  for (auto& connection : connections) {
    if (connection->thread.joinable()) connection->thread.join();
  }
  try {
    impl.listener.close();
  } catch (...) {
    // Already closed: nothing left to release.
  }
  impl.logger->info("p2p stopped node={}", impl.config.self_id);
}

void P2pNetwork::broadcast(const std::vector<plugin::Json>& messages) {
  auto& impl = *impl_;
  std::vector<Frame> frames;
  frames.reserve(messages.size());
  for (const auto& message : messages) {
    try {
      frames.push_back(std::make_shared<const std::string>(encodeP2pFrame(message, impl.config.max_frame_bytes)));
    } catch (const std::length_error& e) {
      impl.logger->warn("p2p broadcast not sent reason={}", e.what());
    }
  }
  // One encoded buffer per message, shared by every peer's queue.
  for (auto& [id, peer] : impl.peers) peer->enqueue(frames);
}

void P2pNetwork::sendTo(const std::string& peer_id, const plugin::Json& message) {
  auto& impl = *impl_;
  auto found = impl.peers.find(peer_id);
  if (found == impl.peers.end()) return;
  try {
    found->second->enqueue(std::make_shared<const std::string>(encodeP2pFrame(message, impl.config.max_frame_bytes)));
  } catch (const std::length_error& e) {
    impl.logger->warn("p2p message not sent peer={} reason={}", peer_id, e.what());
  }
}

plugin::Json P2pNetwork::status() const {
  Json out = Json::array();
  for (const auto& [id, peer] : impl_->peers) {
    std::lock_guard lock(peer->mutex);
    const bool in_connected = peer->inbound != nullptr;
    out.push_back(Json{
        {"id", id},
        {"address", peer->address_text},
        {"outbound",
         {{"connected", peer->out_connected},
          {"since", sinceJson(peer->out_connected, peer->out_since)},
          {"reconnects", peer->reconnects},
          {"last_error", peer->last_error.empty() ? Json(nullptr) : Json(peer->last_error)},
          {"queued", peer->queue.size()},
          {"unconfirmed", peer->unconfirmed.size()},
          {"dropped", peer->dropped}}},
        {"inbound", {{"connected", in_connected}, {"since", sinceJson(in_connected, peer->in_since)}}},
    });
  }
  return out;
}

std::uint16_t P2pNetwork::listenPort() const {
  return impl_->bound_port.load();
}

}  // namespace eventnode::plugins::utxo
