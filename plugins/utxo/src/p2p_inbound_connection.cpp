#include "p2p_inbound_connection.hpp"

#include <exception>

namespace eventnode::plugins::utxo::p2p {

// Whoever finds no writer active becomes the writer and drains the pending
// frames, so writes from several threads are serialized without a lock held
// during I/O.
void InboundConnection::send(Frame frame) {
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

void InboundConnection::close() {
  {
    std::lock_guard lock(mutex);
    closed = true;
  }
  shutdownQuietly(socket);
}

}  // namespace eventnode::plugins::utxo::p2p
