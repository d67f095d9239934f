#include "p2p_link_io.hpp"

#include <Poco/Exception.h>

#include <sys/socket.h>

#include <algorithm>

namespace eventnode::plugins::utxo::p2p {

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Poco::Timespan toTimespan(std::chrono::milliseconds duration) {
  return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(duration.count()) * 1000);
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

// close() would race with another thread's use of the descriptor, shutdown() does not.
void shutdownQuietly(Poco::Net::StreamSocket& socket) {
  try {
    socket.shutdown();
  } catch (...) {
    // Not connected (yet or any more): nothing to wake.
  }
}

plugin::Json readFrame(Poco::Net::StreamSocket& socket, P2pFrameDecoder& decoder, std::vector<char>& buffer,
                       const char* silence) {
  plugin::Json body;
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

}  // namespace eventnode::plugins::utxo::p2p
