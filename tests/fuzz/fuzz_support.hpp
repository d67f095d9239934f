#pragma once
// What every fuzz target here shares: a check that stops the run with a
// message libFuzzer saves the input for, and a way to let the fuzzer choose
// how a byte stream arrives (the parsers under test are incremental, and a
// frame cut at an unlucky byte is exactly what a socket delivers).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace eventnode::fuzz {

/// Aborts (a crash to libFuzzer, which keeps the input) when an invariant fails.
inline void require(bool condition, const char* invariant) {
  if (condition) return;
  std::fprintf(stderr, "fuzz invariant broken: %s\n", invariant);
  std::abort();
}

/// The input as the fuzzer gave it.
inline std::string_view asText(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// Splits a stream into the reads a socket would deliver. The first byte picks
/// the read size (1..255 bytes, 0 for the whole rest at once); the rest is the stream.
class Chunker {
 public:
  Chunker(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return;
    chunk_ = data[0] == 0 ? SIZE_MAX : data[0];
    stream_ = asText(data + 1, size - 1);
  }

  /// The next read; empty when the stream is done.
  std::string_view next() {
    const auto take = stream_.size() < chunk_ ? stream_.size() : chunk_;
    const auto read = stream_.substr(0, take);
    stream_.remove_prefix(take);
    return read;
  }

 private:
  std::size_t chunk_ = SIZE_MAX;
  std::string_view stream_;
};

}  // namespace eventnode::fuzz
