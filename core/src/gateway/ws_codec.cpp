#include "gateway/ws_codec.hpp"

#include "gateway/utf8.hpp"

#include <algorithm>
#include <cstring>

namespace eventnode::core::ws {
namespace {

bool isValidCloseCode(std::uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) || (code >= 3000 && code <= 4999);
}

}  // namespace

void appendFrame(std::string& out, Opcode opcode, std::string_view payload) {
  const auto size = payload.size();
  out.push_back(static_cast<char>(0x80 | static_cast<std::uint8_t>(opcode)));
  if (size < 126) {
    out.push_back(static_cast<char>(size));
  } else if (size <= 0xFFFF) {
    out.push_back(static_cast<char>(126));
    out.push_back(static_cast<char>((size >> 8) & 0xFF));
    out.push_back(static_cast<char>(size & 0xFF));
  } else {
    out.push_back(static_cast<char>(127));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((static_cast<std::uint64_t>(size) >> shift) & 0xFF));
  }
  out.append(payload);
}

std::string encodeFrame(Opcode opcode, std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 10);
  appendFrame(out, opcode, payload);
  return out;
}

std::string encodeClose(std::uint16_t code, std::string_view reason) {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  // A control frame carries at most 125 bytes; cut the reason back to a
  // character boundary so it stays valid UTF-8, as RFC 6455 requires.
  auto cut = std::min<std::size_t>(reason.size(), 123);
  while (cut > 0 && cut < reason.size() && (static_cast<unsigned char>(reason[cut]) & 0xC0) == 0x80) --cut;
  payload.append(reason.substr(0, cut));
  return encodeFrame(Opcode::Close, payload);
}

void FrameReader::append(const char* data, std::size_t size) {
  if (pos_ > 0 && pos_ == buffer_.size()) {
    buffer_.clear();
    pos_ = 0;
  }
  buffer_.append(data, size);
}

FrameReader::Event FrameReader::fail(std::uint16_t code, std::string reason) {
  failed_ = true;
  Event event;
  event.kind = Kind::Error;
  event.code = code;
  event.reason = std::move(reason);
  return event;
}

FrameReader::Event FrameReader::next() {
  if (failed_) return fail(kCloseProtocolError, "connection already failed");
  while (true) {
    // Drop what earlier calls consumed, so the buffer does not grow with the connection's age.
    if (pos_ == buffer_.size()) {
      buffer_.clear();
      pos_ = 0;
      if (buffer_.capacity() > 65536) std::string().swap(buffer_);
    } else if (pos_ > 65536) {
      buffer_.erase(0, pos_);
      pos_ = 0;
    }
    const auto available = buffer_.size() - pos_;
    if (available < 2) return {};
    auto* bytes = reinterpret_cast<std::uint8_t*>(buffer_.data() + pos_);
    const bool fin = bytes[0] & 0x80;
    const std::uint8_t rsv = bytes[0] & 0x70;
    const auto opcode = static_cast<Opcode>(bytes[0] & 0x0F);
    const bool masked = bytes[1] & 0x80;
    std::uint64_t length = bytes[1] & 0x7F;
    std::size_t header = 2;
    if (rsv != 0) return fail(kCloseProtocolError, "reserved bits set without a negotiated extension");
    const bool control = static_cast<std::uint8_t>(opcode) & 0x8;
    switch (opcode) {
      case Opcode::Continuation:
      case Opcode::Text:
      case Opcode::Binary:
      case Opcode::Close:
      case Opcode::Ping:
      case Opcode::Pong:
        break;
      default:
        return fail(kCloseProtocolError, "unknown opcode " + std::to_string(static_cast<int>(opcode)));
    }
    if (!masked) return fail(kCloseProtocolError, "client frames must be masked");
    if (control && (!fin || length > 125))
      return fail(kCloseProtocolError, "control frames must be final and at most 125 bytes");
    if (length == 126) {
      if (available < 4) return {};
      length = (std::uint64_t{bytes[2]} << 8) | bytes[3];
      header = 4;
    } else if (length == 127) {
      if (available < 10) return {};
      length = 0;
      for (int i = 2; i < 10; ++i) length = (length << 8) | bytes[i];
      if (length >> 63) return fail(kCloseProtocolError, "frame length has its top bit set");
      header = 10;
    }
    if (!control && length + fragments_.size() > max_message_bytes_) {
      return fail(kCloseMessageTooBig, "message exceeds " + std::to_string(max_message_bytes_) + " bytes");
    }
    if (available < header + 4 + length) {
      buffer_.reserve(pos_ + header + 4 + length);
      return {};
    }
    std::uint8_t mask[4];
    std::memcpy(mask, bytes + header, 4);
    char* payload = buffer_.data() + pos_ + header + 4;
    for (std::uint64_t i = 0; i < length; ++i) payload[i] = static_cast<char>(payload[i] ^ mask[i & 3]);
    pos_ += header + 4 + length;
    const std::string_view data(payload, length);

    Event event;
    switch (opcode) {
      case Opcode::Ping:
        event.kind = Kind::Ping;
        event.payload = data;
        return event;
      case Opcode::Pong:
        event.kind = Kind::Pong;
        event.payload = data;
        return event;
      case Opcode::Close: {
        event.kind = Kind::Close;
        event.code = 1005;
        if (data.size() == 1) return fail(kCloseProtocolError, "close frame with a 1-byte payload");
        if (data.size() >= 2) {
          event.code = static_cast<std::uint16_t>((static_cast<std::uint8_t>(data[0]) << 8) |
                                                  static_cast<std::uint8_t>(data[1]));
          if (!isValidCloseCode(event.code))
            return fail(kCloseProtocolError, "invalid close code " + std::to_string(event.code));
          if (!isValidUtf8(data.substr(2))) return fail(kCloseInvalidPayload, "close reason is not valid UTF-8");
          event.payload = data.substr(2);
        }
        return event;
      }
      case Opcode::Text:
      case Opcode::Binary:
        if (fragmented_) return fail(kCloseProtocolError, "new message started before the fragmented one ended");
        if (!fin) {
          fragmented_ = true;
          fragment_opcode_ = opcode;
          fragments_.assign(data);
          continue;
        }
        if (opcode == Opcode::Text && !isValidUtf8(data))
          return fail(kCloseInvalidPayload, "text message is not valid UTF-8");
        event.kind = opcode == Opcode::Text ? Kind::Text : Kind::Binary;
        event.payload = data;
        return event;
      case Opcode::Continuation:
        if (!fragmented_) return fail(kCloseProtocolError, "continuation frame without a message to continue");
        fragments_.append(data);
        if (!fin) continue;
        fragmented_ = false;
        if (fragment_opcode_ == Opcode::Text && !isValidUtf8(fragments_)) {
          return fail(kCloseInvalidPayload, "text message is not valid UTF-8");
        }
        event.kind = fragment_opcode_ == Opcode::Text ? Kind::Text : Kind::Binary;
        // Hand the assembled message out; it stays valid until the next call.
        assembled_.swap(fragments_);
        fragments_.clear();
        event.payload = assembled_;
        return event;
    }
  }
}

}  // namespace eventnode::core::ws
