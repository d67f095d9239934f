#pragma once
/// A connection this node accepted from a peer. Its reading thread
/// (p2p_inbound_reader.hpp) owns the reads; writes (the handshake answer,
/// Pongs, replies from any thread) go through send(), which never holds the
/// lock during I/O.
#include "p2p_link_io.hpp"

#include <Poco/Net/StreamSocket.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace eventnode::plugins::utxo::p2p {

struct InboundConnection {
  explicit InboundConnection(Poco::Net::StreamSocket s) : socket(std::move(s)) {}

  /// Writes `frame` after what is pending; thread-safe, a no-op once closed.
  /// A failed write closes the connection (its reader reports it).
  void send(Frame frame);
  /// Refuses further writes and wakes the reader; thread-safe, idempotent.
  void close();

  Poco::Net::StreamSocket socket;
  std::string remote;
  std::thread thread;  ///< the reader; joined by the listener or by stop()
  std::atomic<bool> done{false};

  std::mutex mutex;
  std::deque<Frame> pending;
  bool writing = false;
  bool closed = false;
};

}  // namespace eventnode::plugins::utxo::p2p
