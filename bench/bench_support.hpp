// bench_support: the pieces the benchmark programs (ws_fanout_bench,
// pow_intake_bench, ws_soak) need in exactly the same form: a monotonic clock,
// a latency histogram, a cheap RNG, printf-style formatting, WebSocket framing
// and handshake helpers, raw HTTP header and response parsing, JSON scanning
// without a parser, address and file-limit set-up, /proc readings of the
// node's CPU time and RSS, and the walk over `--flag value` arguments.
//
// Header-only so each program still builds from its one .cpp (see
// CMakeLists.txt here), and everything is `inline` so a second translation
// unit could include it too. Only what is the same in several programs lives
// here; what one program alone needs stays in that program.
#pragma once

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <Poco/Base64Encoder.h>
#include <Poco/SHA1Engine.h>

namespace eventnode::bench {

// Exit codes: the run scripts (and CI) tell a broken node from a broken setup by these.
inline constexpr int kExitOk = 0;
inline constexpr int kExitCheckFailed = 1;  // the node lost, duplicated or reordered something
inline constexpr int kExitUsage = 2;
inline constexpr int kExitSetupFailed = 3;

// ---------------------------------------------------------------------------
// Time

inline constexpr int64_t kNsPerSec = 1'000'000'000;

/// CLOCK_MONOTONIC in nanoseconds: send and receive stamps are compared in one
/// process (or carried in a payload to the same machine), so wall time would
/// only add jumps.
inline int64_t nowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * kNsPerSec + ts.tv_nsec;
}

inline double seconds(int64_t ns) {
  return static_cast<double>(ns) / 1e9;
}

// ---------------------------------------------------------------------------
// Statistics and content

/// Log-linear histogram of nanoseconds: exact below 128 ns, then 64 buckets
/// per power of two (at most 1.6 % error), no allocation when recording, so it
/// can sit on the receive path. Negative values (clock skew between the stamp
/// and the reading) are recorded as 0 and counted apart.
class Histogram {
 public:
  static constexpr int kSubBits = 6;
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kLinear = 2 * kSub;
  static constexpr int kBuckets = kLinear + (64 - kSubBits - 1) * kSub;

  void record(int64_t v) {
    if (v < 0) {
      ++negative_;
      v = 0;
    }
    ++counts_[index(static_cast<uint64_t>(v))];
    ++total_;
    max_ = std::max(max_, v);
    sum_ += static_cast<double>(v);
  }
  uint64_t count() const { return total_; }
  /// How many recorded values were negative (and recorded as 0).
  uint64_t negative() const { return negative_; }
  int64_t max() const { return max_; }
  /// The exact mean of the recorded values (negatives as 0); 0 when empty.
  double mean() const { return total_ ? sum_ / static_cast<double>(total_) : 0; }

  /// The value at quantile q (0..1], as the middle of its bucket; 0 when empty.
  int64_t percentile(double q) const {
    if (total_ == 0) return 0;
    const auto target = static_cast<uint64_t>(std::max(1.0, std::ceil(q * static_cast<double>(total_))));
    uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= target) return std::min(max_, static_cast<int64_t>(lowerBound(i) + width(i) / 2));
    }
    return max_;
  }

 private:
  static int index(uint64_t v) {
    if (v < kLinear) return static_cast<int>(v);
    const int e = 63 - __builtin_clzll(v);
    const int sub = static_cast<int>((v >> (e - kSubBits)) & (kSub - 1));
    return kLinear + (e - kSubBits - 1) * kSub + sub;
  }
  static uint64_t lowerBound(int i) {
    if (i < kLinear) return static_cast<uint64_t>(i);
    const int e = (i - kLinear) / kSub + kSubBits + 1;
    const int sub = (i - kLinear) % kSub;
    return static_cast<uint64_t>(kSub + sub) << (e - kSubBits);
  }
  static uint64_t width(int i) {
    if (i < kLinear) return 1;
    return uint64_t{1} << ((i - kLinear) / kSub + 1);
  }

  std::vector<uint64_t> counts_ = std::vector<uint64_t>(kBuckets, 0);
  uint64_t total_ = 0;
  uint64_t negative_ = 0;
  int64_t max_ = 0;
  double sum_ = 0;
};

/// xorshift64*: mask keys, handshake nonces and batch content need to vary,
/// not to be secret, and this costs a few cycles per number.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed ? seed : 0x9E3779B97F4A7C15ULL) {}
  uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1DULL;
  }

 private:
  uint64_t state_;
};

/// printf into a std::string, for report lines built in pieces. Output past
/// 1023 bytes is cut: every use is one short report fragment.
inline std::string fmt(const char* format, ...) __attribute__((format(printf, 1, 2)));
inline std::string fmt(const char* format, ...) {
  char buf[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buf, sizeof(buf), format, args);
  va_end(args);
  return buf;
}

// ---------------------------------------------------------------------------
// Text: HTTP headers and JSON fields, without a parser on the hot path

inline std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

/// The trimmed value of header `name` (lower case, without colon) in a raw header block.
inline std::optional<std::string> headerValue(std::string_view headers, std::string_view name) {
  const std::string low = lower(headers);
  std::size_t pos = 0;
  while ((pos = low.find("\r\n", pos)) != std::string::npos) {
    pos += 2;
    if (low.compare(pos, name.size(), name) == 0 && pos + name.size() < low.size() && low[pos + name.size()] == ':') {
      std::size_t begin = pos + name.size() + 1;
      std::size_t end = low.find("\r\n", begin);
      if (end == std::string::npos) end = low.size();
      while (begin < end && (headers[begin] == ' ' || headers[begin] == '\t')) ++begin;
      while (end > begin && (headers[end - 1] == ' ' || headers[end - 1] == '\t')) --end;
      return std::string(headers.substr(begin, end - begin));
    }
  }
  return std::nullopt;
}

/// The string value after `key` (which includes its quotes and colon, "\"type\":"
/// style) in a JSON text; empty view when absent. The first match wins and
/// escapes are not decoded: enough for the flat, known messages the benches
/// read, and far cheaper than parsing every one.
inline std::string_view findString(std::string_view text, std::string_view key) {
  const void* hit = memmem(text.data(), text.size(), key.data(), key.size());
  if (hit == nullptr) return {};
  const char* p = static_cast<const char*>(hit) + key.size();
  const char* end = text.data() + text.size();
  while (p < end && (*p == ' ' || *p == '\t')) ++p;
  if (p >= end || *p != '"') return {};
  ++p;
  const char* q = static_cast<const char*>(std::memchr(p, '"', static_cast<std::size_t>(end - p)));
  if (q == nullptr) return {};
  return {p, static_cast<std::size_t>(q - p)};
}

/// Percent-encodes everything but unreserved characters (and ':'), for a query value.
inline std::string urlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (std::isalnum(u) || ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == ':') {
      out += ch;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

/// The integer after `key` (which includes its quotes and colon) in a JSON text,
/// without parsing the document; nullopt when absent or not a number.
inline std::optional<int64_t> findInt(std::string_view text, std::string_view key, std::size_t from = 0) {
  if (from >= text.size()) return std::nullopt;
  const void* hit = memmem(text.data() + from, text.size() - from, key.data(), key.size());
  if (hit == nullptr) return std::nullopt;
  const char* p = static_cast<const char*>(hit) + key.size();
  const char* end = text.data() + text.size();
  while (p < end && (*p == ' ' || *p == '\t')) ++p;
  int64_t value = 0;
  const auto [stop, ec] = std::from_chars(p, end, value);
  if (ec != std::errc{} || stop == p) return std::nullopt;
  return value;
}

/// One HTTP/1.1 response, as the benches' keep-alive publishers read them.
struct HttpResponse {
  int status = 0;
  std::string body;
  bool close = false;  // the server said Connection: close
};

/// Takes the first complete response (Content-Length or chunked body) off the
/// front of `in`; nullopt, with `in` untouched, until all of it has arrived.
inline std::optional<HttpResponse> takeHttpResponse(std::string& in) {
  const auto head_end = in.find("\r\n\r\n");
  if (head_end == std::string::npos) return std::nullopt;
  const std::string_view head(in.data(), head_end + 2);
  HttpResponse out;
  if (const auto sp = head.find(' '); sp != std::string_view::npos) {
    std::from_chars(head.data() + sp + 1, head.data() + head.size(), out.status);
  }
  std::size_t pos = head_end + 4;
  const auto te = headerValue(head, "transfer-encoding");
  if (te && lower(*te).find("chunked") != std::string::npos) {
    for (;;) {
      const auto line_end = in.find("\r\n", pos);
      if (line_end == std::string::npos) return std::nullopt;
      std::size_t size = 0;
      std::from_chars(in.data() + pos, in.data() + line_end, size, 16);
      if (size == 0) {
        if (in.size() < line_end + 4) return std::nullopt;
        pos = line_end + 4;
        break;
      }
      if (in.size() < line_end + 2 + size + 2) return std::nullopt;
      out.body.append(in, line_end + 2, size);
      pos = line_end + 2 + size + 2;
    }
  } else {
    std::size_t length = 0;
    if (const auto cl = headerValue(head, "content-length"))
      std::from_chars(cl->data(), cl->data() + cl->size(), length);
    if (in.size() < pos + length) return std::nullopt;
    out.body.assign(in, pos, length);
    pos += length;
  }
  out.close = lower(headerValue(head, "connection").value_or("")) == "close";
  in.erase(0, pos);
  return out;
}

// ---------------------------------------------------------------------------
// WebSocket (RFC 6455): handshake and framing. Each bench plays one side
// (subscriber clients, ML node servers) over its own non-blocking sockets, so
// these work on byte strings only.

inline std::string base64(const unsigned char* data, std::size_t size) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out);
  encoder.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  encoder.close();
  return out.str();
}

/// Sec-WebSocket-Accept for a Sec-WebSocket-Key (§4.2.2).
inline std::string websocketAccept(const std::string& key) {
  Poco::SHA1Engine sha1;
  sha1.update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
  const auto& digest = sha1.digest();
  return base64(digest.data(), digest.size());
}

/// A client's opening handshake (§4.1) with a fresh key, and the
/// Sec-WebSocket-Accept the node must answer with.
struct WsHandshake {
  std::string request;
  std::string accept;
};

inline WsHandshake webSocketHandshake(Rng& rng, std::string_view path_and_query, std::string_view host, int port) {
  unsigned char nonce[16];
  for (int k = 0; k < 16; k += 8) {
    const uint64_t r = rng.next();
    std::memcpy(nonce + k, &r, 8);
  }
  const std::string key = base64(nonce, sizeof(nonce));
  std::string request = "GET ";
  request.append(path_and_query).append(" HTTP/1.1\r\nHost: ").append(host).append(":" + std::to_string(port));
  request += "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
             "\r\nSec-WebSocket-Version: 13\r\n\r\n";
  return {std::move(request), websocketAccept(key)};
}

/// The node's answer to a handshake, read from the start of what arrived.
struct HandshakeAnswer {
  enum class Outcome { NeedMore, Switched, Refused };
  Outcome outcome = Outcome::NeedMore;
  std::size_t used = 0;  ///< bytes of the answer's head (Switched): frames follow
  std::string reason;    ///< Refused: the status line and the start of the body
};

inline HandshakeAnswer readHandshakeAnswer(std::string_view data, std::string_view accept) {
  HandshakeAnswer answer;
  const auto head_end = data.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    if (data.size() > 16384) {
      answer.outcome = HandshakeAnswer::Outcome::Refused;
      answer.reason = "handshake answer too long";
    }
    return answer;
  }
  const std::string_view head = data.substr(0, head_end + 2);
  const std::string status(head.substr(0, head.find("\r\n")));
  answer.outcome = HandshakeAnswer::Outcome::Refused;
  if (status.find(" 101") == std::string::npos) {
    const std::string body(data.substr(head_end + 4, 200));
    answer.reason = status + (body.empty() ? "" : " " + body);
    return answer;
  }
  const auto sent = headerValue(head, "sec-websocket-accept");
  if (!sent || *sent != accept) {
    answer.reason = "bad Sec-WebSocket-Accept";
    return answer;
  }
  answer.outcome = HandshakeAnswer::Outcome::Switched;
  answer.used = head_end + 4;
  return answer;
}

/// Appends a final frame's header (§5.2) for a `n`-byte payload. `masked` sets
/// the mask bit only: a client appends the 4-byte key and the masked payload itself.
inline void appendFrameHeader(std::string& out, uint8_t opcode, uint64_t n, bool masked) {
  const auto mask_bit = static_cast<uint8_t>(masked ? 0x80 : 0);
  out.push_back(static_cast<char>(0x80 | opcode));
  if (n < 126) {
    out.push_back(static_cast<char>(mask_bit | n));
  } else if (n < 65536) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xff));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  }
}

/// A frame header as read off the wire.
struct FrameHeader {
  bool fin = false;
  uint8_t opcode = 0;
  bool masked = false;
  uint64_t length = 0;   // payload bytes
  std::size_t size = 0;  // header bytes, the 4-byte mask key included when masked
};

/// Reads the header at `p` (`avail` bytes there); nullopt until the bytes that
/// give the payload length have arrived. The caller checks that size + length
/// bytes are there, and decides what a mask (or a huge length) means for its side.
inline std::optional<FrameHeader> parseFrameHeader(const unsigned char* p, std::size_t avail) {
  if (avail < 2) return std::nullopt;
  FrameHeader h;
  h.fin = (p[0] & 0x80) != 0;
  h.opcode = p[0] & 0x0f;
  h.masked = (p[1] & 0x80) != 0;
  h.length = p[1] & 0x7f;
  h.size = 2;
  if (h.length == 126) {
    if (avail < 4) return std::nullopt;
    h.length = (uint64_t{p[2]} << 8) | p[3];
    h.size = 4;
  } else if (h.length == 127) {
    if (avail < 10) return std::nullopt;
    h.length = 0;
    for (int i = 0; i < 8; ++i) h.length = (h.length << 8) | p[2 + i];
    h.size = 10;
  }
  if (h.masked) h.size += 4;
  return h;
}

/// The status code of a close frame's payload; 1005 (none given) when it has none (§7.1.5).
inline int closeCode(std::string_view payload) {
  return payload.size() >= 2 ? (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1])
                             : 1005;
}

/// One masked client frame (RFC 6455 §5.3).
inline std::string clientFrame(uint8_t opcode, std::string_view payload, uint32_t mask_key) {
  std::string f;
  f.reserve(payload.size() + 14);
  appendFrameHeader(f, opcode, payload.size(), /*masked=*/true);
  const unsigned char mask[4] = {static_cast<unsigned char>(mask_key >> 24), static_cast<unsigned char>(mask_key >> 16),
                                 static_cast<unsigned char>(mask_key >> 8), static_cast<unsigned char>(mask_key)};
  f.append(reinterpret_cast<const char*>(mask), 4);
  for (std::size_t i = 0; i < payload.size(); ++i) f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  return f;
}

// ---------------------------------------------------------------------------
// Sockets

/// An IPv4 address for `host` (dotted quad, else resolved) and `port`; throws when it cannot be resolved.
/// Writes what a non-blocking socket takes of `bytes` now and keeps the rest
/// in `pending`, behind anything already waiting there. False (with `error`)
/// when the connection is broken.
inline bool sendOrKeep(int fd, std::string& pending, std::string_view bytes, std::string& error) {
  if (!pending.empty()) {
    pending.append(bytes);
    return true;
  }
  const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
    error = std::string("send: ") + std::strerror(errno);
    return false;
  }
  const auto sent = static_cast<std::size_t>(std::max<ssize_t>(n, 0));
  if (sent < bytes.size()) pending.assign(bytes.substr(sent));
  return true;
}

/// Writes what the socket takes of `pending` (the socket became writable).
inline bool sendPending(int fd, std::string& pending, std::string& error) {
  if (pending.empty()) return true;
  const ssize_t n = ::send(fd, pending.data(), pending.size(), MSG_NOSIGNAL);
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
    error = std::string("send: ") + std::strerror(errno);
    return false;
  }
  pending.erase(0, static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
  return true;
}

inline sockaddr_in resolve(const std::string& host, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) == 1) return addr;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &result) != 0 || result == nullptr)
    throw std::runtime_error("cannot resolve host '" + host + "'");
  addr.sin_addr = reinterpret_cast<sockaddr_in*>(result->ai_addr)->sin_addr;
  freeaddrinfo(result);
  return addr;
}

/// Raises the soft open-file limit to the hard one; throws when even that is below `needed`.
inline void raiseFileLimit(int needed) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    getrlimit(RLIMIT_NOFILE, &lim);
  }
  if (lim.rlim_cur != RLIM_INFINITY && static_cast<long>(lim.rlim_cur) < needed)
    throw std::runtime_error("open-file limit " + std::to_string(lim.rlim_cur) + " is below the " +
                             std::to_string(needed) + " this run needs; lower --connections");
}

// ---------------------------------------------------------------------------
// Process readings: the node runs as a separate process, so its CPU time and
// RSS come from /proc; the loader's own CPU time from getrusage.

/// VmRSS of a process in KiB, or -1.
inline long readRssKib(int pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

/// utime+stime of a process in seconds, or -1.
inline double readCpuSeconds(int pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command (field 2) may hold spaces and parentheses: fields start after the last ')'.
  const auto paren = all.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(all.substr(paren + 2));
  std::string field;
  double utime = 0;
  double stime = 0;
  // After the command come state (field 3) ... utime (14) and stime (15).
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

/// User plus system CPU time of this process in seconds.
inline double selfCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// ---------------------------------------------------------------------------
// Command line

/// Walks argv as `--flag value` or `--flag=value`, one flag at a time, and
/// answers --help / -h with `usage` on stdout and exit 0. The flags, their
/// ranges and their error messages stay with each program.
class FlagReader {
 public:
  FlagReader(int argc, char** argv, const char* usage) : args_(argv + 1, argv + argc), usage_(usage) {}

  /// Moves to the next argument; false when none is left.
  bool next() {
    if (next_ >= args_.size()) return false;
    current_ = next_++;
    flag_ = args_[current_];
    inline_value_.reset();
    if (const auto eq = flag_.find('='); flag_.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_value_ = flag_.substr(eq + 1);
      flag_ = flag_.substr(0, eq);
    }
    if (flag_ == "--help" || flag_ == "-h") {
      std::fputs(usage_, stdout);
      std::exit(kExitOk);
    }
    return true;
  }
  /// The flag, without an `=value` part.
  const std::string& flag() const { return flag_; }
  /// The argument as given, `=value` included.
  const std::string& raw() const { return args_[current_]; }

  /// The flag's value: after its `=`, else the next argument (which is then used up).
  std::string value() {
    if (inline_value_) return *inline_value_;
    if (next_ >= args_.size()) throw std::invalid_argument(flag_ + " needs a value");
    return args_[next_++];
  }

  /// The flag's value as a whole double; nullopt (with the text in `text`) when
  /// it is not one. The bound check is the caller's.
  std::optional<double> real(std::string& text) {
    text = value();
    std::size_t used = 0;
    double out = 0;
    try {
      out = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    // "nan" and "inf" parse too, but no flag of ours means them.
    if (used != text.size() || text.empty() || !std::isfinite(out)) return std::nullopt;
    return out;
  }

 private:
  std::vector<std::string> args_;
  const char* usage_;
  std::size_t next_ = 0;
  std::size_t current_ = 0;
  std::string flag_;
  std::optional<std::string> inline_value_;
};

}  // namespace eventnode::bench
