#include "gateway/utf8.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace eventnode::core {
namespace {

using namespace std::string_view_literals;

struct Vector {
  const char* name;
  std::string_view bytes;
  bool valid;
};

void expectAll(std::initializer_list<Vector> vectors) {
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.name);
    EXPECT_EQ(isValidUtf8(v.bytes), v.valid);
    // The same bytes behind an ASCII run, so they are reached after the 8-byte fast path.
    const auto padded = std::string(19, 'a') + std::string(v.bytes);
    EXPECT_EQ(isValidUtf8(padded), v.valid) << "after 19 ASCII bytes";
  }
}

TEST(Utf8, AcceptsAsciiAndEmptyText) {
  expectAll({
      {"empty", ""sv, true},
      {"word", "hello"sv, true},
      {"all of ASCII", "\x01\x02 !~\x7F"sv, true},
      {"embedded NUL", "a\0b"sv, true},
      {"JSON", R"({"type":"subscribe","data":{"topic":"prices"}})"sv, true},
  });
}

TEST(Utf8, AcceptsTwoThreeAndFourByteCharacters) {
  expectAll({
      {"U+0080", "\xC2\x80"sv, true},
      {"U+00E9", "caf\xC3\xA9"sv, true},
      {"U+07FF", "\xDF\xBF"sv, true},
      {"U+0800", "\xE0\xA0\x80"sv, true},
      {"U+20AC", "\xE2\x82\xAC"sv, true},
      {"U+D7FF", "\xED\x9F\xBF"sv, true},
      {"U+E000", "\xEE\x80\x80"sv, true},
      {"U+FEFF", "\xEF\xBB\xBF"sv, true},
      {"U+FFFF", "\xEF\xBF\xBF"sv, true},
      {"U+10000", "\xF0\x90\x80\x80"sv, true},
      {"U+1F600", "\xF0\x9F\x98\x80"sv, true},
      {"U+10FFFF", "\xF4\x8F\xBF\xBF"sv, true},
      {"mixed", "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z"sv, true},
  });
}

TEST(Utf8, RefusesOverlongForms) {
  expectAll({
      {"C0 80", "\xC0\x80"sv, false},
      {"C1 BF", "\xC1\xBF"sv, false},
      {"C0 AF", "\xC0\xAF"sv, false},
      {"E0 80 80", "\xE0\x80\x80"sv, false},
      {"E0 9F BF", "\xE0\x9F\xBF"sv, false},
      {"F0 80 80 80", "\xF0\x80\x80\x80"sv, false},
      {"F0 8F BF BF", "\xF0\x8F\xBF\xBF"sv, false},
  });
}

TEST(Utf8, RefusesSurrogatesAndCodePointsAboveTheLimit) {
  expectAll({
      {"ED A0 80 (U+D800)", "\xED\xA0\x80"sv, false},
      {"ED AF BF (U+DBFF)", "\xED\xAF\xBF"sv, false},
      {"ED B0 80 (U+DC00)", "\xED\xB0\x80"sv, false},
      {"ED BF BF (U+DFFF)", "\xED\xBF\xBF"sv, false},
      {"surrogate pair", "\xED\xA0\xBD\xED\xB8\x80"sv, false},
      {"F4 90 80 80 (U+110000)", "\xF4\x90\x80\x80"sv, false},
      {"F4 BF BF BF", "\xF4\xBF\xBF\xBF"sv, false},
      {"F5 80 80 80", "\xF5\x80\x80\x80"sv, false},
      {"F7 BF BF BF", "\xF7\xBF\xBF\xBF"sv, false},
      {"FE", "\xFE"sv, false},
      {"FF", "\xFF"sv, false},
  });
}

TEST(Utf8, RefusesSequencesTruncatedAtTheEnd) {
  expectAll({
      {"C3", "\xC3"sv, false},
      {"a C3", "a\xC3"sv, false},
      {"E2", "\xE2"sv, false},
      {"E2 82", "\xE2\x82"sv, false},
      {"F0", "\xF0"sv, false},
      {"F0 9F", "\xF0\x9F"sv, false},
      {"F0 9F 98", "\xF0\x9F\x98"sv, false},
      {"valid then F0 9F 98", "\xC3\xA9\xF0\x9F\x98"sv, false},
  });
}

TEST(Utf8, RefusesStrayAndMissingContinuationBytes) {
  expectAll({
      {"80", "\x80"sv, false},
      {"BF", "\xBF"sv, false},
      {"a 80 b",
       "a\x80"
       "b"sv,
       false},
      {"two-byte plus stray", "\xC3\xA9\xA9"sv, false},
      {"four-byte plus stray", "\xF0\x9F\x98\x80\x80"sv, false},
      {"C3 then ASCII",
       "\xC3("
       ""sv,
       false},
      {"E2 then ASCII in third",
       "\xE2\x82("
       ""sv,
       false},
      {"E2 then ASCII in second", "\xE2(\xAC"sv, false},
      {"F0 with ASCII in fourth", "\xF0\x9F\x98("sv, false},
      {"F0 with ASCII in third", "\xF0\x9F(\x80"sv, false},
      {"lead then lead", "\xC3\xC3\xA9"sv, false},
      {"E0 then C0-range byte", "\xE0\xC0\x80"sv, false},
  });
}

TEST(Utf8, FindsOneBadByteAtAnyPositionOfAnAsciiRun) {
  for (const std::size_t length : {17u, 24u, 31u, 32u, 40u, 64u}) {
    for (std::size_t at = 0; at <= 16; ++at) {
      for (const char bad : {'\x80', '\xBF', '\xC3', '\xE2', '\xF0', '\xFF', '\xC0'}) {
        std::string text(length, 'x');
        text[at] = bad;
        SCOPED_TRACE("length " + std::to_string(length) + " byte " + std::to_string(static_cast<unsigned char>(bad)) +
                     " at " + std::to_string(at));
        EXPECT_FALSE(isValidUtf8(text));
      }
    }
    EXPECT_TRUE(isValidUtf8(std::string(length, 'x')));
  }
}

TEST(Utf8, FindsABadByteAtTheVeryEndOfAnAsciiRun) {
  for (std::size_t length = 1; length <= 40; ++length) {
    std::string text(length, 'x');
    text.back() = '\x80';
    SCOPED_TRACE("length " + std::to_string(length));
    EXPECT_FALSE(isValidUtf8(text));
    text.back() = '\xE2';  // a lead byte with nothing after it
    EXPECT_FALSE(isValidUtf8(text));
  }
}

TEST(Utf8, AcceptsAValidCharacterAtAnyPositionOfAnAsciiRun) {
  for (std::size_t at = 0; at <= 16; ++at) {
    for (const auto* character : {"\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"}) {
      std::string text(40, 'x');
      text.replace(at, std::string_view(character).size(), character);
      SCOPED_TRACE("at " + std::to_string(at) + " size " + std::to_string(std::string_view(character).size()));
      EXPECT_TRUE(isValidUtf8(text));
    }
  }
}

TEST(Utf8, ChecksTextThatStartsAtAnUnalignedAddress) {
  std::string buffer(64, 'x');
  buffer[37] = '\x80';
  for (std::size_t offset = 0; offset < 8; ++offset) {
    SCOPED_TRACE("offset " + std::to_string(offset));
    EXPECT_FALSE(isValidUtf8(std::string_view(buffer).substr(offset)));
    EXPECT_TRUE(isValidUtf8(std::string_view(buffer).substr(offset, 37 - offset)));
  }
}

}  // namespace
}  // namespace eventnode::core
