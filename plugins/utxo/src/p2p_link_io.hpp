#pragma once
/// Blocking socket I/O shared by every P2P connection, accepted or dialled:
/// the two ways a connection ends (ProtocolError, LinkError), whole-frame
/// reads and full writes. Callers own their sockets; none of this locks.
#include "p2p_codec.hpp"

#include <eventnode/plugin/json.hpp>

#include <Poco/Net/StreamSocket.h>
#include <Poco/Timespan.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace eventnode::plugins::utxo::p2p {

using Clock = std::chrono::steady_clock;
/// One encoded frame, shared by every queue it is on.
using Frame = std::shared_ptr<const std::string>;

/// Bytes read from a socket at a time.
constexpr std::size_t kReadChunk = 64 * 1024;
/// Accept and dial wait in slices this long so stop() is seen promptly even
/// where closing a socket does not wake a blocked poll.
constexpr auto kPollSlice = std::chrono::milliseconds(50);

/// The peer's stream broke the protocol: closes that connection only, logged as a warning.
class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The connection failed or ended (EOF, timeout, reset).
class LinkError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Seconds since the Unix epoch, as handshakes and status carry them.
std::int64_t unixNow();

Poco::Timespan toTimespan(std::chrono::milliseconds duration);

/// The message of `e`, with Poco's detail when it is a Poco::Exception.
std::string describe(const std::exception& e);

/// Writes all of `bytes`; throws LinkError when the socket fails or times out.
void sendAll(Poco::Net::StreamSocket& socket, const std::string& bytes);

/// Wakes a thread blocked in receive or send on this socket; never throws.
void shutdownQuietly(Poco::Net::StreamSocket& socket);

/// The next whole frame's body, reading into `buffer` as needed. Throws
/// ProtocolError for a bad stream, LinkError (`silence` on a receive timeout)
/// when the connection fails or ends.
plugin::Json readFrame(Poco::Net::StreamSocket& socket, P2pFrameDecoder& decoder, std::vector<char>& buffer,
                       const char* silence);

}  // namespace eventnode::plugins::utxo::p2p
