#pragma once
// Assembles one HTTP/1.1 request from bytes as they arrive, in any pieces,
// with Boost.Beast's incremental parser. It holds no socket, so the server's
// event loop can feed it whatever a read returned and move on: a client that
// sends one byte a second costs a buffer, never a thread. Every limit is
// checked as the bytes come in: the header's size, the body's declared and
// actual size, and the framing (duplicate or conflicting lengths, bad chunk
// sizes), so a refusal never waits for a body it will not read.
#include <eventnode/plugin/http.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace eventnode::core {

class HttpRequestReader {
 public:
  /// Largest request line plus header fields accepted (431 beyond).
  static constexpr std::size_t kMaxHeaderBytes = 16 * 1024;

  enum class State {
    NeedMore,  ///< feed more bytes
    Complete,  ///< request() is ready
    Refused,   ///< refusal() says why; the connection must be closed after it
  };

  explicit HttpRequestReader(std::size_t max_body_bytes);
  ~HttpRequestReader();
  HttpRequestReader(const HttpRequestReader&) = delete;
  HttpRequestReader& operator=(const HttpRequestReader&) = delete;

  /// Parses from `data` (every byte received and not yet consumed) and
  /// returns how many bytes it consumed. Part of an unfinished header may be
  /// left unconsumed: pass those bytes again with the next ones. Bytes after a complete request
  /// (a pipelined next one) are left for the next reader. Once the state is
  /// Complete or Refused it consumes nothing more.
  std::size_t feed(std::string_view data);
  State state() const { return state_; }

  /// True once the whole header is in (the body may still be coming).
  bool headerDone() const;
  /// The client sent `Expect: 100-continue` and waits for the go-ahead before the body.
  bool expectsContinue() const;
  /// True when any byte of this request has arrived.
  bool started() const { return started_; }
  /// Bytes of body this request holds, or has declared it will: the
  /// Content-Length once the header is in, else what has arrived (chunked).
  /// What the server reserves against its budget for request bodies.
  std::size_t bodyBytes() const;

  /// Valid in state Complete. Method, path, query (percent-decoded), headers
  /// (names lower-cased) and body; remote_address and identity are the caller's.
  plugin::HttpRequest& request() { return request_; }
  /// Whether the connection stays open after the answer (HTTP/1.1 default, or HTTP/1.0 keep-alive).
  bool keepAlive() const { return keep_alive_; }
  /// 10 for HTTP/1.0, 11 for HTTP/1.1.
  unsigned version() const { return version_; }

  /// Valid in state Refused: the status (400, 413, 431, 501) and a message naming the fault.
  const plugin::HttpResponse& refusal() const { return refusal_; }

 private:
  struct Parser;

  void refuse(int status, const std::string& code, const std::string& message);
  void complete();

  std::unique_ptr<Parser> parser_;
  State state_ = State::NeedMore;
  bool started_ = false;
  bool keep_alive_ = false;
  unsigned version_ = 11;
  std::size_t max_body_bytes_;
  plugin::HttpRequest request_;
  plugin::HttpResponse refusal_;
};

}  // namespace eventnode::core
