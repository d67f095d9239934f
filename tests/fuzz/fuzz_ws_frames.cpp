// The gateway's RFC 6455 frame reader (core/src/gateway/ws_codec.hpp) on the
// bytes a client sends, cut into reads of a size the fuzzer picks. The cap is
// small so the fuzzer reaches it: no message may come out larger, no control
// frame longer than 125 bytes, no text that is not UTF-8, and a failed reader
// stays failed.
#include "fuzz_support.hpp"

#include "gateway/utf8.hpp"
#include "gateway/ws_codec.hpp"

using eventnode::core::isValidUtf8;
using eventnode::core::ws::FrameReader;
using eventnode::fuzz::require;

namespace {
constexpr std::size_t kMaxMessageBytes = 4096;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FrameReader reader(kMaxMessageBytes);
  eventnode::fuzz::Chunker chunks(data, size);
  for (auto read = chunks.next(); !read.empty(); read = chunks.next()) {
    reader.append(read.data(), read.size());
    for (;;) {
      const auto event = reader.next();
      switch (event.kind) {
        case FrameReader::Kind::NeedMore:
          break;
        case FrameReader::Kind::Error:
          require(event.code >= 1000, "an error carries a close code");
          require(reader.next().kind == FrameReader::Kind::Error, "a failed reader stays failed");
          return 0;
        case FrameReader::Kind::Text:
          require(isValidUtf8(event.payload), "text messages are valid UTF-8");
          [[fallthrough]];
        case FrameReader::Kind::Binary:
          require(event.payload.size() <= kMaxMessageBytes, "no message is larger than the cap");
          continue;
        case FrameReader::Kind::Close:
          require(event.payload.size() <= 123, "a close reason fits a control frame");
          require(event.code == 1005 || (event.code >= 1000 && event.code <= 4999), "close codes are in range");
          require(isValidUtf8(event.payload), "close reasons are valid UTF-8");
          continue;
        case FrameReader::Kind::Ping:
        case FrameReader::Kind::Pong:
          require(event.payload.size() <= 125, "control frames carry at most 125 bytes");
          continue;
      }
      break;
    }
  }
  return 0;
}
