#pragma once
// RFC 6455 framing for the event loop: the encoder for server frames and an
// incremental reader for client frames (masking, fragmentation, control
// frames, size limits, UTF-8 of text messages). Our own parser, because
// Poco's receiveFrame is written for blocking sockets; it is also what the
// fuzz and unit tests hit.
#include <cstdint>
#include <string>
#include <string_view>

namespace eventnode::core::ws {

enum class Opcode : std::uint8_t { Continuation = 0x0, Text = 0x1, Binary = 0x2, Close = 0x8, Ping = 0x9, Pong = 0xA };

/// Close codes the node sends (RFC 6455 §7.4.1).
enum CloseCode : std::uint16_t {
  kCloseNormal = 1000,
  kCloseGoingAway = 1001,
  kCloseProtocolError = 1002,
  kCloseUnsupportedData = 1003,
  kCloseInvalidPayload = 1007,
  kClosePolicyViolation = 1008,
  kCloseMessageTooBig = 1009,
  kCloseInternalError = 1011,
  kCloseTokenExpired = 4001,  ///< application range: the connection's token expired
};

/// Appends one unmasked, final server frame carrying `payload`.
void appendFrame(std::string& out, Opcode opcode, std::string_view payload);
/// One unmasked, final server frame.
std::string encodeFrame(Opcode opcode, std::string_view payload);
/// A close frame with a code and a reason (cut to fit the 125-byte control frame limit).
std::string encodeClose(std::uint16_t code, std::string_view reason);

/// Reads client frames from the bytes a connection receives and yields whole
/// messages and control frames. One reader per connection; not thread-safe.
class FrameReader {
 public:
  enum class Kind { NeedMore, Text, Binary, Ping, Pong, Close, Error };

  struct Event {
    Kind kind = Kind::NeedMore;
    std::string_view payload;  ///< valid until the next call to next() or append()
    std::uint16_t code = 0;    ///< Close: the peer's code (1005 when absent); Error: the code to close with
    std::string reason;        ///< Error: what was wrong
  };

  explicit FrameReader(std::size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

  void append(const char* data, std::size_t size);
  /// The next event; NeedMore when the buffered bytes hold no complete frame.
  /// After an Error the reader is done: the connection must be closed with `code`.
  Event next();

  /// Bytes held (partial frames and fragments), for memory accounting.
  std::size_t buffered() const { return buffer_.size() - pos_ + fragments_.size(); }

 private:
  Event fail(std::uint16_t code, std::string reason);

  std::size_t max_message_bytes_;
  std::string buffer_;
  std::size_t pos_ = 0;    // start of the unparsed bytes in buffer_
  std::string fragments_;  // payload of a fragmented message so far
  std::string assembled_;  // the last reassembled message, handed out by next()
  Opcode fragment_opcode_ = Opcode::Continuation;
  bool fragmented_ = false;
  bool failed_ = false;
};

}  // namespace eventnode::core::ws
