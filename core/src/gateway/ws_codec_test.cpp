#include "gateway/ws_codec.hpp"

#include "gateway/utf8.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace eventnode::core::ws {
namespace {

using Kind = FrameReader::Kind;

constexpr std::size_t kMax = 1 << 20;
constexpr std::uint8_t kFin = 0x80;
constexpr std::array<std::uint8_t, 4> kKey{0x37, 0xFA, 0x21, 0x3D};

/// A client frame: `first` is the whole first byte (FIN, RSV, opcode); the
/// payload length is encoded in the shortest form, as a browser would.
std::string clientFrame(std::uint8_t first, std::string_view payload, bool masked = true) {
  std::string out;
  out.push_back(static_cast<char>(first));
  const std::uint8_t mask_bit = masked ? 0x80 : 0x00;
  const auto size = payload.size();
  if (size < 126) {
    out.push_back(static_cast<char>(mask_bit | size));
  } else if (size <= 0xFFFF) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>(size >> 8));
    out.push_back(static_cast<char>(size & 0xFF));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((std::uint64_t{size} >> shift) & 0xFF));
  }
  if (!masked) return out.append(payload);
  for (auto k : kKey) out.push_back(static_cast<char>(k));
  for (std::size_t i = 0; i < size; ++i) out.push_back(static_cast<char>(payload[i] ^ static_cast<char>(kKey[i & 3])));
  return out;
}

std::string frame(Opcode opcode, std::string_view payload, bool fin = true) {
  return clientFrame(static_cast<std::uint8_t>((fin ? kFin : 0) | static_cast<std::uint8_t>(opcode)), payload);
}

std::string closePayload(std::uint16_t code, std::string_view reason = {}) {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  return payload.append(reason);
}

std::string bytes(std::initializer_list<std::uint8_t> list) {
  std::string out;
  for (auto b : list) out.push_back(static_cast<char>(b));
  return out;
}

/// An event with its payload copied, so it outlives the reader's next call.
struct Seen {
  Kind kind;
  std::string payload;
  std::uint16_t code;
  std::string reason;

  bool operator==(const Seen& other) const {
    return kind == other.kind && payload == other.payload && code == other.code;
  }
};

std::ostream& operator<<(std::ostream& os, const Seen& seen) {
  return os << "{kind=" << static_cast<int>(seen.kind) << " size=" << seen.payload.size() << " code=" << seen.code
            << " reason=" << seen.reason << "}";
}

/// Calls next() until NeedMore or Error (included), copying each event.
std::vector<Seen> drain(FrameReader& reader) {
  std::vector<Seen> seen;
  while (true) {
    auto event = reader.next();
    if (event.kind == Kind::NeedMore) return seen;
    seen.push_back({event.kind, std::string(event.payload), event.code, event.reason});
    if (event.kind == Kind::Error) return seen;
  }
}

std::vector<Seen> readAll(std::string_view wire, std::size_t max = kMax) {
  FrameReader reader(max);
  reader.append(wire.data(), wire.size());
  return drain(reader);
}

std::string pattern(std::size_t size, bool text) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) out[i] = text ? static_cast<char>('a' + i % 26) : static_cast<char>(i * 7 + 3);
  return out;
}

TEST(FrameReader, YieldsMaskedTextAndBinaryFramesOfEveryLengthEncoding) {
  struct Case {
    std::size_t size;
    std::uint8_t length_byte;  // 7-bit size, 126 for 16-bit, 127 for 64-bit
  };
  const Case cases[] = {{0, 0}, {1, 1}, {125, 125}, {126, 126}, {65535, 126}, {65536, 127}, {70000, 127}};
  for (const auto& c : cases) {
    for (const bool text : {true, false}) {
      SCOPED_TRACE("size " + std::to_string(c.size) + (text ? " text" : " binary"));
      const auto payload = pattern(c.size, text);
      const auto wire = frame(text ? Opcode::Text : Opcode::Binary, payload);
      ASSERT_EQ(static_cast<std::uint8_t>(wire[1]) & 0x7F, c.length_byte);
      FrameReader reader(kMax);
      reader.append(wire.data(), wire.size());
      const auto event = reader.next();
      EXPECT_EQ(event.kind, text ? Kind::Text : Kind::Binary);
      EXPECT_EQ(event.payload, payload);
      EXPECT_EQ(reader.next().kind, Kind::NeedMore);
      EXPECT_EQ(reader.buffered(), 0u);
    }
  }
}

TEST(FrameReader, ReassemblesFramesFedOneByteAtATime) {
  std::string wire;
  wire += frame(Opcode::Text, "hello");
  wire += frame(Opcode::Binary, pattern(300, false));
  wire += frame(Opcode::Ping, "p");
  wire += frame(Opcode::Text, "frag", false);
  wire += frame(Opcode::Continuation, pattern(70000, true));
  wire += frame(Opcode::Pong, "");
  wire += frame(Opcode::Close, closePayload(1000, "bye"));
  const std::vector<Seen> expected = {
      {Kind::Text, "hello", 0, {}}, {Kind::Binary, pattern(300, false), 0, {}},
      {Kind::Ping, "p", 0, {}},     {Kind::Text, "frag" + pattern(70000, true), 0, {}},
      {Kind::Pong, "", 0, {}},      {Kind::Close, "bye", 1000, {}},
  };

  FrameReader reader(kMax);
  std::vector<Seen> seen;
  for (const char byte : wire) {
    reader.append(&byte, 1);
    for (auto& event : drain(reader)) seen.push_back(std::move(event));
  }
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(FrameReader, YieldsEveryFrameOfOneAppendInOrder) {
  std::string wire;
  wire += frame(Opcode::Text, "one");
  wire += frame(Opcode::Binary, bytes({0x00, 0xFF, 0x80}));
  wire += frame(Opcode::Ping, "are you there");
  wire += frame(Opcode::Text, "");
  wire += frame(Opcode::Pong, "yes");
  wire += frame(Opcode::Text, pattern(200, true));
  wire += frame(Opcode::Close, "");
  const std::vector<Seen> expected = {
      {Kind::Text, "one", 0, {}},           {Kind::Binary, bytes({0x00, 0xFF, 0x80}), 0, {}},
      {Kind::Ping, "are you there", 0, {}}, {Kind::Text, "", 0, {}},
      {Kind::Pong, "yes", 0, {}},           {Kind::Text, pattern(200, true), 0, {}},
      {Kind::Close, "", 1005, {}},
  };
  EXPECT_EQ(readAll(wire), expected);
}

TEST(FrameReader, KeepsTheLastFrameWaitingUntilItIsComplete) {
  const auto first = frame(Opcode::Text, "complete");
  const auto second = frame(Opcode::Binary, pattern(1000, false));
  const auto wire = first + second;
  FrameReader reader(kMax);
  reader.append(wire.data(), first.size() + 10);
  const std::vector<Seen> expected_first = {{Kind::Text, "complete", 0, {}}};
  EXPECT_EQ(drain(reader), expected_first);
  EXPECT_EQ(reader.buffered(), 10u);
  reader.append(wire.data() + first.size() + 10, wire.size() - first.size() - 10);
  const std::vector<Seen> expected_second = {{Kind::Binary, pattern(1000, false), 0, {}}};
  EXPECT_EQ(drain(reader), expected_second);
}

TEST(FrameReader, ReassemblesATextMessageSplitInThreeFramesWithAPingBetween) {
  std::string wire;
  wire += frame(Opcode::Text, "Hel", false);
  wire += frame(Opcode::Ping, "keepalive");
  wire += frame(Opcode::Continuation, "lo, ", false);
  wire += frame(Opcode::Pong, "");
  wire += frame(Opcode::Continuation, "world");
  wire += frame(Opcode::Text, "after");
  const std::vector<Seen> expected = {
      {Kind::Ping, "keepalive", 0, {}},
      {Kind::Pong, "", 0, {}},
      {Kind::Text, "Hello, world", 0, {}},
      {Kind::Text, "after", 0, {}},
  };
  EXPECT_EQ(readAll(wire), expected);
}

TEST(FrameReader, ReassemblesAFragmentedBinaryMessage) {
  std::string wire;
  wire += frame(Opcode::Binary, bytes({0xFF, 0x00}), false);
  wire += frame(Opcode::Continuation, "", false);
  wire += frame(Opcode::Continuation, bytes({0x80}));
  const std::vector<Seen> expected = {{Kind::Binary, bytes({0xFF, 0x00, 0x80}), 0, {}}};
  EXPECT_EQ(readAll(wire), expected);
}

TEST(FrameReader, AcceptsACharacterSplitAcrossFragments) {
  std::string wire;
  wire += frame(Opcode::Text, "price \xE2\x82", false);  // U+20AC split after two of its three bytes
  wire += frame(Opcode::Continuation,
                "\xAC"
                "5");
  const std::vector<Seen> expected = {{Kind::Text,
                                       "price \xE2\x82\xAC"
                                       "5",
                                       0,
                                       {}}};
  EXPECT_EQ(readAll(wire), expected);
}

TEST(FrameReader, CountsPartialFramesAndFragmentsAsBuffered) {
  FrameReader reader(kMax);
  const auto fragment = frame(Opcode::Text, "abcdef", false);
  reader.append(fragment.data(), fragment.size());
  EXPECT_EQ(reader.next().kind, Kind::NeedMore);
  EXPECT_EQ(reader.buffered(), 6u);
  const auto partial = frame(Opcode::Continuation, "ghi");
  reader.append(partial.data(), 3);
  EXPECT_EQ(reader.next().kind, Kind::NeedMore);
  EXPECT_EQ(reader.buffered(), 6u + 3u);
}

TEST(FrameReader, RefusesEachProtocolViolationWithItsCloseCode) {
  struct Case {
    const char* name;
    std::string wire;
    std::uint16_t code;
    std::size_t max = kMax;
  };
  std::string huge_header = bytes({0x82, 0x80 | 127, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00});  // 2^40 bytes
  const Case cases[] = {
      {"unmasked text", clientFrame(kFin | 0x1, "hi", false), 1002},
      {"unmasked binary", clientFrame(kFin | 0x2, "hi", false), 1002},
      {"unmasked empty ping", clientFrame(kFin | 0x9, "", false), 1002},
      {"RSV1", clientFrame(kFin | 0x40 | 0x1, "hi"), 1002},
      {"RSV2", clientFrame(kFin | 0x20 | 0x2, "hi"), 1002},
      {"RSV3", clientFrame(kFin | 0x10 | 0x9, ""), 1002},
      {"RSV1 on a continuation", frame(Opcode::Text, "a", false) + clientFrame(kFin | 0x40, "b"), 1002},
      {"opcode 3", clientFrame(kFin | 0x3, "x"), 1002},
      {"opcode 7", clientFrame(kFin | 0x7, "x"), 1002},
      {"opcode 0xB", clientFrame(kFin | 0xB, "x"), 1002},
      {"opcode 0xF", clientFrame(kFin | 0xF, ""), 1002},
      {"ping of 126 bytes", frame(Opcode::Ping, std::string(126, 'p')), 1002},
      {"pong of 126 bytes", frame(Opcode::Pong, std::string(126, 'p')), 1002},
      {"close of 126 bytes", frame(Opcode::Close, closePayload(1000, std::string(124, 'r'))), 1002},
      {"ping of 65536 bytes", frame(Opcode::Ping, std::string(65536, 'p')), 1002},
      {"fragmented ping", frame(Opcode::Ping, "p", false), 1002},
      {"fragmented close", frame(Opcode::Close, closePayload(1000), false), 1002},
      {"continuation without start", frame(Opcode::Continuation, "x"), 1002},
      {"non-final continuation without start", frame(Opcode::Continuation, "x", false), 1002},
      {"continuation after a finished message", frame(Opcode::Text, "a") + frame(Opcode::Continuation, "b"), 1002},
      {"text while text is fragmented", frame(Opcode::Text, "a", false) + frame(Opcode::Text, "b"), 1002},
      {"binary while text is fragmented", frame(Opcode::Text, "a", false) + frame(Opcode::Binary, "b"), 1002},
      {"non-final text while binary is fragmented", frame(Opcode::Binary, "a", false) + frame(Opcode::Text, "b", false),
       1002},
      {"64-bit length with top bit", bytes({0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}), 1002},
      {"64-bit length all ones", bytes({0x81, 0x80 | 127, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}), 1002},
      {"single frame over max", frame(Opcode::Text, std::string(101, 'a')), 1009, 100},
      {"binary frame over max", frame(Opcode::Binary, std::string(70000, 'a')), 1009, 65536},
      {"header announcing 2^40 bytes", huge_header, 1009},
      {"fragments over max",
       frame(Opcode::Text, std::string(60, 'a'), false) + frame(Opcode::Continuation, std::string(41, 'b')), 1009, 100},
      {"many fragments over max",
       frame(Opcode::Binary, std::string(30, 'a'), false) + frame(Opcode::Continuation, std::string(30, 'b'), false) +
           frame(Opcode::Continuation, std::string(30, 'c'), false) + frame(Opcode::Continuation, std::string(11, 'd')),
       1009, 100},
      {"invalid UTF-8 text", frame(Opcode::Text, "ok \xC3\x28"), 1007},
      {"surrogate in text", frame(Opcode::Text, "\xED\xA0\x80"), 1007},
      {"text ending mid character", frame(Opcode::Text, "\xE2\x82"), 1007},
      {"invalid UTF-8 across fragments",
       frame(Opcode::Text, "ok\xE2", false) + frame(Opcode::Continuation, "\x82", false) +
           frame(Opcode::Continuation, "("),
       1007},
      {"fragmented text ending mid character",
       frame(Opcode::Text, "ok", false) + frame(Opcode::Continuation, "\xF0\x9F\x98"), 1007},
      {"close with a 1-byte payload", frame(Opcode::Close, "\x03"), 1002},
      {"close code 0", frame(Opcode::Close, closePayload(0)), 1002},
      {"close code 999", frame(Opcode::Close, closePayload(999)), 1002},
      {"close code 1004", frame(Opcode::Close, closePayload(1004)), 1002},
      {"close code 1005", frame(Opcode::Close, closePayload(1005)), 1002},
      {"close code 1006", frame(Opcode::Close, closePayload(1006)), 1002},
      {"close code 1015", frame(Opcode::Close, closePayload(1015)), 1002},
      {"close code 1100", frame(Opcode::Close, closePayload(1100)), 1002},
      {"close code 2999", frame(Opcode::Close, closePayload(2999)), 1002},
      {"close code 5000", frame(Opcode::Close, closePayload(5000)), 1002},
      {"close code 65535", frame(Opcode::Close, closePayload(65535)), 1002},
      {"close reason not UTF-8", frame(Opcode::Close, closePayload(1000, "\xFF")), 1007},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    FrameReader reader(c.max);
    reader.append(c.wire.data(), c.wire.size());
    const auto seen = drain(reader);
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.back().kind, Kind::Error);
    EXPECT_EQ(seen.back().code, c.code);
    EXPECT_FALSE(seen.back().reason.empty());
    for (std::size_t i = 0; i + 1 < seen.size(); ++i) EXPECT_NE(seen[i].kind, Kind::Error);
    // The reader is done: it never yields anything but an error again.
    EXPECT_EQ(reader.next().kind, Kind::Error);
    const auto more = frame(Opcode::Text, "late");
    reader.append(more.data(), more.size());
    EXPECT_EQ(reader.next().kind, Kind::Error);
  }
}

TEST(FrameReader, AcceptsMessagesOfExactlyTheMaximumSize) {
  const std::vector<Seen> single = {{Kind::Text, std::string(100, 'a'), 0, {}}};
  EXPECT_EQ(readAll(frame(Opcode::Text, std::string(100, 'a')), 100), single);
  const auto fragments =
      frame(Opcode::Text, std::string(60, 'a'), false) + frame(Opcode::Continuation, std::string(40, 'a'));
  EXPECT_EQ(readAll(fragments, 100), single);
  // Control frames are bounded by 125 bytes, not by the message limit.
  const std::vector<Seen> ping = {{Kind::Ping, std::string(125, 'p'), 0, {}}};
  EXPECT_EQ(readAll(frame(Opcode::Ping, std::string(125, 'p')), 10), ping);
}

TEST(FrameReader, StartsCountingTheLimitAfreshAfterEachMessage) {
  std::string wire;
  for (int i = 0; i < 5; ++i) {
    wire += frame(Opcode::Text, std::string(50, 'a'), false);
    wire += frame(Opcode::Continuation, std::string(50, 'b'));
  }
  const auto seen = readAll(wire, 100);
  ASSERT_EQ(seen.size(), 5u);
  for (const auto& s : seen) EXPECT_EQ(s.kind, Kind::Text);
}

TEST(FrameReader, YieldsTheCloseCodeAndReason) {
  struct Case {
    std::string payload;
    std::uint16_t code;
    std::string reason;
  };
  const Case cases[] = {
      {"", 1005, ""},
      {closePayload(1000), 1000, ""},
      {closePayload(1000, "bye"), 1000, "bye"},
      {closePayload(1001, "going away"), 1001, "going away"},
      {closePayload(1003), 1003, ""},
      {closePayload(1007), 1007, ""},
      {closePayload(1011, "oops"), 1011, "oops"},
      {closePayload(3000, "app"), 3000, "app"},
      {closePayload(4999, "caf\xC3\xA9"), 4999, "caf\xC3\xA9"},
      {closePayload(1000, std::string(123, 'r')), 1000, std::string(123, 'r')},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("code " + std::to_string(c.code) + " reason " + c.reason);
    const std::vector<Seen> expected = {{Kind::Close, c.reason, c.code, {}}};
    EXPECT_EQ(readAll(frame(Opcode::Close, c.payload)), expected);
  }
}

TEST(FrameEncoder, WritesTheHeaderForEachLengthEncoding) {
  struct Case {
    Opcode opcode;
    std::size_t size;
    std::string header;
  };
  const Case cases[] = {
      {Opcode::Text, 0, bytes({0x81, 0x00})},
      {Opcode::Text, 1, bytes({0x81, 0x01})},
      {Opcode::Text, 125, bytes({0x81, 0x7D})},
      {Opcode::Binary, 126, bytes({0x82, 0x7E, 0x00, 0x7E})},
      {Opcode::Binary, 256, bytes({0x82, 0x7E, 0x01, 0x00})},
      {Opcode::Binary, 65535, bytes({0x82, 0x7E, 0xFF, 0xFF})},
      {Opcode::Binary, 65536, bytes({0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00})},
      {Opcode::Text, 70000, bytes({0x81, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x11, 0x70})},
      {Opcode::Ping, 4, bytes({0x89, 0x04})},
      {Opcode::Pong, 0, bytes({0x8A, 0x00})},
      {Opcode::Close, 2, bytes({0x88, 0x02})},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("opcode " + std::to_string(static_cast<int>(c.opcode)) + " size " + std::to_string(c.size));
    const auto payload = pattern(c.size, false);
    const auto out = encodeFrame(c.opcode, payload);
    ASSERT_EQ(out.size(), c.header.size() + c.size);
    EXPECT_EQ(out.substr(0, c.header.size()), c.header);
    EXPECT_EQ(out.substr(c.header.size()), payload);
    std::string appended = "prefix";
    appendFrame(appended, c.opcode, payload);
    EXPECT_EQ(appended, "prefix" + out);
  }
}

TEST(FrameEncoder, WritesCloseFramesWithCodeAndReason) {
  struct Case {
    std::uint16_t code;
    std::string reason;
    std::string expected;
  };
  const Case cases[] = {
      {1000, "", bytes({0x88, 0x02, 0x03, 0xE8})},
      {1002, "bad", bytes({0x88, 0x05, 0x03, 0xEA}) + "bad"},
      {1009, "too big", bytes({0x88, 0x09, 0x03, 0xF1}) + "too big"},
      {4999, "", bytes({0x88, 0x02, 0x13, 0x87})},
      {1001, std::string(123, 'x'), bytes({0x88, 0x7D, 0x03, 0xE9}) + std::string(123, 'x')},
      {1011, std::string(500, 'y'), bytes({0x88, 0x7D, 0x03, 0xF3}) + std::string(123, 'y')},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("code " + std::to_string(c.code) + " reason size " + std::to_string(c.reason.size()));
    EXPECT_EQ(encodeClose(c.code, c.reason), c.expected);
  }
}

TEST(FrameEncoder, CutsALongCloseReasonOnACharacterBoundary) {
  // 62 two-byte characters: 124 bytes, one more than a close reason can hold.
  std::string reason;
  for (int i = 0; i < 62; ++i) reason += "\xC3\xA9";
  const auto out = encodeClose(1000, reason);
  ASSERT_GE(out.size(), 4u);
  ASSERT_LE(out.size(), 2u + 125u);
  const auto sent_reason = std::string_view(out).substr(4);
  EXPECT_TRUE(isValidUtf8(sent_reason)) << "reason of " << sent_reason.size() << " bytes ends mid character";
  EXPECT_EQ(reason.substr(0, sent_reason.size()), sent_reason);
}

TEST(FrameEncoder, WritesFramesTheReaderParsesBackOnceMasked) {
  for (const auto opcode : {Opcode::Text, Opcode::Binary, Opcode::Ping, Opcode::Pong}) {
    for (const std::size_t size : {0u, 5u, 125u, 126u, 65535u, 65536u}) {
      if ((static_cast<int>(opcode) & 0x8) && size > 125) continue;
      SCOPED_TRACE("opcode " + std::to_string(static_cast<int>(opcode)) + " size " + std::to_string(size));
      const auto payload = pattern(size, true);
      auto wire = encodeFrame(opcode, payload);
      // Mask it as a client would: set the bit, insert the key, XOR the payload.
      const std::size_t header = wire.size() - size;
      wire[1] = static_cast<char>(wire[1] | 0x80);
      std::string masked = wire.substr(0, header);
      for (auto k : kKey) masked.push_back(static_cast<char>(k));
      for (std::size_t i = 0; i < size; ++i)
        masked.push_back(static_cast<char>(payload[i] ^ static_cast<char>(kKey[i & 3])));
      const auto seen = readAll(masked);
      ASSERT_EQ(seen.size(), 1u);
      EXPECT_EQ(seen[0].payload, payload);
    }
  }
}

/// Random bytes, and valid frames with random bytes changed, in random slices.
TEST(FrameReader, SurvivesTenThousandRandomInputs) {
  std::mt19937 random(20240611);
  const auto uniform = [&random](std::size_t low, std::size_t high) {
    return std::uniform_int_distribution<std::size_t>(low, high)(random);
  };
  constexpr std::size_t kFuzzMax = 1024;
  std::size_t with_events = 0, with_errors = 0;
  for (int round = 0; round < 10000; ++round) {
    std::string input;
    if (round % 2 == 0) {
      input.resize(uniform(0, 96));
      for (auto& b : input) b = static_cast<char>(uniform(0, 255));
    } else {
      const auto frames = uniform(1, 4);
      for (std::size_t f = 0; f < frames; ++f) {
        const auto opcode = std::array<std::uint8_t, 6>{0x0, 0x1, 0x2, 0x8, 0x9, 0xA}[uniform(0, 5)];
        std::string payload(uniform(0, opcode & 0x8 ? 20 : 300), '\0');
        for (auto& b : payload) b = static_cast<char>(uniform(0, 3) == 0 ? uniform(0, 255) : uniform(0x20, 0x7E));
        if (opcode == 0x8 && payload.size() >= 2) payload = closePayload(1000) + payload.substr(2);
        input += clientFrame(static_cast<std::uint8_t>((uniform(0, 3) ? kFin : 0) | opcode), payload);
      }
      const auto flips = uniform(0, 3);
      for (std::size_t i = 0; i < flips && !input.empty(); ++i)
        input[uniform(0, input.size() - 1)] = static_cast<char>(uniform(0, 255));
      if (uniform(0, 4) == 0) input.resize(uniform(0, input.size()));
    }
    SCOPED_TRACE("round " + std::to_string(round));

    FrameReader reader(kFuzzMax);
    std::size_t fed = 0, events = 0, errors = 0;
    bool failed = false;
    while (fed < input.size() && !failed) {
      const auto slice = std::min(uniform(1, 40), input.size() - fed);
      reader.append(input.data() + fed, slice);
      fed += slice;
      // Every event but the error consumes at least a 2-byte header, so this bounds the loop.
      bool settled = false;
      for (std::size_t calls = 0; calls <= fed / 2 + 1 && !settled; ++calls) {
        const auto event = reader.next();
        if (event.kind == Kind::NeedMore) {
          settled = true;
          break;
        }
        if (event.kind == Kind::Error) {
          ++errors;
          failed = true;
          settled = true;
          EXPECT_TRUE(event.code == 1002 || event.code == 1007 || event.code == 1009) << event.code;
          EXPECT_FALSE(event.reason.empty());
          break;
        }
        ++events;
        ASSERT_LE(events, input.size() / 2) << "more events than frames could fit";
        if (event.kind == Kind::Text || event.kind == Kind::Binary) {
          EXPECT_LE(event.payload.size(), kFuzzMax);
        }
        if (event.kind == Kind::Text) {
          EXPECT_TRUE(isValidUtf8(event.payload));
        }
        if (event.kind == Kind::Ping || event.kind == Kind::Pong || event.kind == Kind::Close) {
          EXPECT_LE(event.payload.size(), 125u);
        }
        if (event.kind == Kind::Close) {
          EXPECT_TRUE(event.code == 1005 || (event.code >= 1000 && event.code < 5000));
        }
      }
      ASSERT_TRUE(settled) << "next() kept yielding events without consuming input";
      EXPECT_LE(reader.buffered(), fed);
    }
    EXPECT_EQ(reader.next().kind, failed ? Kind::Error : Kind::NeedMore);
    EXPECT_LE(errors, 1u);
    if (events > 0) ++with_events;
    if (errors > 0) ++with_errors;
  }
  // The inputs reach past the header checks, and also trip them.
  EXPECT_GT(with_events, 1000u);
  EXPECT_GT(with_errors, 1000u);
}

}  // namespace
}  // namespace eventnode::core::ws
