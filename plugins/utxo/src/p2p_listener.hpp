#pragma once
/// The P2P listener: accepts the other masternodes' connections on its own
/// thread and gives each its reading thread (p2p_inbound_reader.hpp), at
/// most kMaxInboundConnections at a time, reaping the finished ones.
/// Driven by P2pNetwork's start() and stop() only.
#include "p2p_context.hpp"
#include "p2p_inbound_connection.hpp"

#include <Poco/Net/ServerSocket.h>

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace eventnode::plugins::utxo::p2p {

/// A flood of raw connections must not become a flood of threads.
constexpr std::size_t kMaxInboundConnections = 256;

class P2pListener {
 public:
  /// `context` outlives the listener.
  explicit P2pListener(P2pContext& context) : context_(context) {}

  /// Binds host:port and listens; returns the port bound. Throws
  /// std::runtime_error naming the address when it cannot.
  std::uint16_t listen(const std::string& host, std::uint16_t port);
  /// Starts the accept thread.
  void start();
  /// Joins the accept thread once context.stopping is set.
  void joinAcceptor();
  /// The connections not reaped yet; once joinAcceptor() returned, nothing is added any more.
  std::list<std::shared_ptr<InboundConnection>> takeConnections();
  /// Closes the listening socket; never throws.
  void close();

 private:
  void acceptLoop();
  void reapInbound();

  P2pContext& context_;
  Poco::Net::ServerSocket socket_;
  std::thread accept_thread_;
  std::mutex mutex_;  ///< guards connections_
  std::list<std::shared_ptr<InboundConnection>> connections_;
};

}  // namespace eventnode::plugins::utxo::p2p
