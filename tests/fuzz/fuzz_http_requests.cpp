// The HTTP server's request reader (core/src/http/http_request_reader.hpp) on
// the bytes a client sends, cut into reads of a size the fuzzer picks and
// buffered as the server does: what the reader leaves unconsumed is fed again
// with the next read. Pipelined requests follow one another. No body may come
// out larger than the cap, every refusal is a 4xx/5xx that closes the
// connection, and a finished reader consumes nothing more.
#include "fuzz_support.hpp"

#include "http/http_request_reader.hpp"

#include <memory>
#include <string>

using eventnode::core::HttpRequestReader;
using eventnode::fuzz::require;

namespace {
constexpr std::size_t kMaxBodyBytes = 4096;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto reader = std::make_unique<HttpRequestReader>(kMaxBodyBytes);
  std::string buffered;
  eventnode::fuzz::Chunker chunks(data, size);
  for (auto read = chunks.next(); !read.empty(); read = chunks.next()) {
    buffered.append(reinterpret_cast<const char*>(read.data()), read.size());
    for (;;) {
      const auto used = reader->feed(buffered);
      require(used <= buffered.size(), "the reader consumes only what it was given");
      buffered.erase(0, used);
      const auto state = reader->state();
      if (state == HttpRequestReader::State::NeedMore) {
        require(buffered.size() <= HttpRequestReader::kMaxHeaderBytes + read.size(),
                "an unfinished header is bounded by the header limit");
        break;
      }
      if (state == HttpRequestReader::State::Refused) {
        const auto status = reader->refusal().status;
        require(status >= 400 && status < 600, "a refusal is an error status");
        require(!reader->keepAlive(), "a refused request closes its connection");
        require(reader->feed("GET / HTTP/1.1\r\n\r\n") == 0, "a refused reader consumes nothing more");
        return 0;
      }
      require(reader->request().body.size() <= kMaxBodyBytes, "no body is larger than the cap");
      require(!reader->request().method.empty(), "a complete request has a method");
      require(reader->feed("GET / HTTP/1.1\r\n\r\n") == 0, "a complete reader consumes nothing more");
      reader = std::make_unique<HttpRequestReader>(kMaxBodyBytes);  // the next pipelined request
      if (buffered.empty()) break;
    }
  }
  return 0;
}
