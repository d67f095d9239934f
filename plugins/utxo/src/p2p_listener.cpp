#include "p2p_listener.hpp"

#include "p2p_inbound_reader.hpp"

#include <Poco/Exception.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include <exception>
#include <stdexcept>

namespace eventnode::plugins::utxo::p2p {

std::uint16_t P2pListener::listen(const std::string& host, std::uint16_t port) {
  const std::string where = host + ":" + std::to_string(port);
  try {
    // Bound by hand: Poco's convenience constructors also set SO_REUSEPORT,
    // which would let a second node share the port silently instead of failing.
    const Poco::Net::SocketAddress address(host, port);
    socket_.bind(address, true, false);
    socket_.listen(64);
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("cannot listen for masternode P2P on " + where + ": " + e.displayText() +
                             "; change p2p.listen or stop the other process");
  }
  return socket_.address().port();
}

void P2pListener::start() {
  accept_thread_ = std::thread([this] { acceptLoop(); });
}

void P2pListener::joinAcceptor() {
  if (accept_thread_.joinable()) accept_thread_.join();
}

std::list<std::shared_ptr<InboundConnection>> P2pListener::takeConnections() {
  std::list<std::shared_ptr<InboundConnection>> connections;
  std::lock_guard lock(mutex_);
  connections.swap(connections_);
  return connections;
}

void P2pListener::close() {
  try {
    socket_.close();
  } catch (...) {
    // Already closed: nothing left to release.
  }
}

void P2pListener::acceptLoop() {
  const auto& logger = context_.logger;
  while (!context_.stopping) {
    reapInbound();
    Poco::Net::StreamSocket socket;
    try {
      if (!socket_.poll(toTimespan(kPollSlice), Poco::Net::Socket::SELECT_READ)) continue;
      socket = socket_.acceptConnection();
    } catch (const std::exception& e) {
      if (context_.stopping) break;
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
      std::lock_guard lock(mutex_);
      if (context_.stopping) {
        connection->close();
        break;
      }
      if (connections_.size() >= kMaxInboundConnections) {
        logger->warn("p2p inbound refused remote={} reason=too many connections ({})", connection->remote,
                     kMaxInboundConnections);
        connection->close();
        continue;
      }
      connections_.push_back(connection);
      connection->thread = std::thread([this, connection] { runInbound(context_, connection); });
    }
  }
}

void P2pListener::reapInbound() {
  std::list<std::shared_ptr<InboundConnection>> finished;
  {
    std::lock_guard lock(mutex_);
    for (auto it = connections_.begin(); it != connections_.end();) {
      if ((*it)->done) {
        finished.push_back(*it);
        it = connections_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& connection : finished) {
    if (connection->thread.joinable()) connection->thread.join();
  }
}

}  // namespace eventnode::plugins::utxo::p2p
