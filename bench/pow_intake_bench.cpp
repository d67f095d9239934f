// pow_intake_bench: a load generator for the pow_batches intake.
//
// It plays N ML nodes: N WebSocket servers on loopback ports (our own
// handshake and RFC 6455 framing over non-blocking sockets, one epoll loop),
// each waiting for the intake node to dial /api/v1/pow/ws, then sending
// distinct `generated` batches with up to W unacknowledged per ML node, as
// fast as acks come back (or paced at --rate). It measures send→ack latency
// and acknowledged batches/s over a steady window, and checks that every
// batch is acknowledged exactly once (no missing, duplicate or unknown acks).
//
// A batch's numbers are drawn from pools of pre-formatted random values, so
// building a 1,000-nonce batch is a copy, not 2,000 number formattings: the
// loader shares the cores with the node. Content is unique per run, ML node and
// sequence number (nonces[0] encodes them, block_hash is random per run), and
// a batch can be rebuilt from (node, seq) alone, which is how unacknowledged
// batches are resent after a reconnect, with the same id and content.
// See run_pow_intake.sh, which starts this first and the node second.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bench_support.hpp"

namespace {

// Clock, histogram, RNG, framing, /proc readings...: shared with the other bench.
using namespace eventnode::bench;

constexpr int64_t kSlotNs = 100'000'000;  // acks are counted per 100 ms for the timeline
constexpr std::string_view kSocketPath = "/api/v1/pow/ws";
constexpr std::size_t kPoolSize = 4096;  // pre-formatted values per kind

double ms(int64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

struct Options {
  int nodes = 8;
  int base_port = 0;  // 0: ephemeral ports, printed on the LISTENING line
  std::string listen = "127.0.0.1";
  double duration_s = 10;
  double warmup_s = -1;  // negative: min(2 s, duration / 5)
  int window = 64;
  int nonces = 1000;
  double rate = 0;  // total batches/s; 0 = closed loop (as fast as acks allow)
  int first_node_num = 1;
  double connect_timeout_s = 30;
  double drain_timeout_s = 15;
  std::string node_pid_file;
  uint64_t seed = 0;  // 0: from the clock
};

constexpr const char* kUsage = R"(usage: pow_intake_bench [options]
  --nodes N             ML nodes played, one WebSocket server each (default 8)
  --base-port P         node i listens on P+i; 0 = ephemeral ports (default 0)
  --listen ADDR         listen address (default 127.0.0.1)
  --duration S          sending time after every node is connected (default 10)
  --warmup S            start of the steady window (default min(2, duration/5))
  --window W            unacknowledged batches per ML node (default 64)
  --nonces K            entries in nonces and dist per batch (default 1000)
  --rate R              pace sending at R batches/s in total (R/N per node), still capped by
                        --window; 0 = closed loop, as fast as acks allow (default 0)
  --first-node-num M    node i's batches carry node_id M+i (default 1)
  --connect-timeout S   wait for every node to be dialled (default 30)
  --drain-timeout S     after sending stops, wait this long for the last acks (default 15)
  --node-pid-file F     file holding the node's PID: its CPU time and RSS are reported
  --seed X              content seed (default: from the clock; content is unique per seed)
It prints `LISTENING ports=p1,p2,...` once every server listens, a readable block
and one `RESULT key=value ...` line at the end.
exit: 0 ok, 1 acks missing/duplicate/unknown or connections lost, 2 usage, 3 setup failed
)";

// ---------------------------------------------------------------------------
// Command line

Options parseOptions(int argc, char** argv) {
  Options o;
  FlagReader args(argc, argv, kUsage);
  while (args.next()) {
    const std::string& flag = args.flag();
    const auto integer = [&](long long min, long long max) {
      const std::string v = args.value();
      long long out = 0;
      const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
      if (ec != std::errc{} || end != v.data() + v.size() || out < min || out > max)
        throw std::invalid_argument(flag + " needs an integer in " + std::to_string(min) + ".." + std::to_string(max) +
                                    ", got '" + v + "'");
      return out;
    };
    const auto real = [&](double min) {
      std::string v;
      const auto out = args.real(v);
      if (!out || !(*out >= min))  // NaN is refused too
        throw std::invalid_argument(flag + " needs a number >= " + std::to_string(min) + ", got '" + v + "'");
      return *out;
    };
    if (flag == "--nodes") {
      o.nodes = static_cast<int>(integer(1, 256));
    } else if (flag == "--base-port") {
      o.base_port = static_cast<int>(integer(0, 65535));
    } else if (flag == "--listen") {
      o.listen = args.value();
    } else if (flag == "--duration") {
      o.duration_s = real(0.1);
    } else if (flag == "--warmup") {
      o.warmup_s = real(0);
    } else if (flag == "--window") {
      o.window = static_cast<int>(integer(1, 100000));
    } else if (flag == "--nonces") {
      o.nonces = static_cast<int>(integer(1, 10'000'000));
    } else if (flag == "--rate") {
      o.rate = real(0);
    } else if (flag == "--first-node-num") {
      o.first_node_num = static_cast<int>(integer(0, 1'000'000'000));
    } else if (flag == "--connect-timeout") {
      o.connect_timeout_s = real(0.1);
    } else if (flag == "--drain-timeout") {
      o.drain_timeout_s = real(0);
    } else if (flag == "--node-pid-file") {
      o.node_pid_file = args.value();
    } else if (flag == "--seed") {
      o.seed = static_cast<uint64_t>(integer(0, INT64_MAX));
    } else {
      throw std::invalid_argument("unknown option '" + flag + "'");
    }
  }
  if (o.base_port > 0 && o.base_port + o.nodes - 1 > 65535)
    throw std::invalid_argument("--base-port " + std::to_string(o.base_port) + " + --nodes " + std::to_string(o.nodes) +
                                " runs past port 65535");
  if (o.warmup_s < 0) o.warmup_s = std::min(2.0, o.duration_s / 5);
  if (o.warmup_s >= o.duration_s)
    throw std::invalid_argument("--warmup must be shorter than --duration (no steady window otherwise)");
  if (o.seed == 0) o.seed = static_cast<uint64_t>(nowNs()) ^ (static_cast<uint64_t>(getpid()) << 32);
  return o;
}

// ---------------------------------------------------------------------------
// Small helpers

/// splitmix64: turns (seed, node, seq) into independent Rng seeds.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

std::string hex(Rng& rng, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < digits; ++i) out += kHex[rng.next() >> 60];
  return out;
}

int readPidFile(const std::string& path) {
  if (path.empty()) return 0;
  std::ifstream in(path);
  int pid = 0;
  if (!(in >> pid)) return 0;
  return pid;
}

// ---------------------------------------------------------------------------
// Batch content

/// Builds `generated` messages. Numbers come from pools of pre-formatted random
/// values; nonces[0] is unique per (node, seq), block_hash per run (seed).
class BatchMaker {
 public:
  BatchMaker(uint64_t seed, int nonces) : seed_(seed), nonces_(nonces) {
    Rng rng(mix(seed));
    block_hash_ = hex(rng, 64);
    block_height_ = 100000 + static_cast<int64_t>(rng.next() % 900000);
    id_prefix_ = hex(rng, 8);
    char buf[32];
    for (std::size_t i = 0; i < kPoolSize; ++i) {
      // Nonces: non-negative int64 of every length; dist: doubles in [0, 1) in shortest form.
      const auto nonce = static_cast<int64_t>(rng.next() >> (1 + rng.next() % 40));
      auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), nonce);
      nonce_pool_.emplace_back(buf, end);
      const double d = static_cast<double>(rng.next() >> 11) * 0x1.0p-53;
      auto [dend, dec] = std::to_chars(buf, buf + sizeof(buf), d);
      dist_pool_.emplace_back(buf, dend);
    }
  }

  const std::string& blockHash() const { return block_hash_; }

  /// The id of batch `seq` of node `node`: a UUID-shaped string that names both.
  std::string id(int node, uint64_t seq) const {
    return fmt("%s-%04x-4%03x-8000-%012" PRIx64, id_prefix_.c_str(), static_cast<unsigned>(node & 0xffff),
               static_cast<unsigned>((node >> 16) & 0xfff), seq);
  }
  /// (node, seq) from an id made by id(), or nullopt for any other text.
  std::optional<std::pair<int, uint64_t>> parseId(std::string_view id) const {
    if (id.size() != 36 || id.substr(0, 8) != id_prefix_ || id[8] != '-' || id[13] != '-' || id.substr(14, 1) != "4" ||
        id.substr(18, 6) != "-8000-")
      return std::nullopt;
    unsigned low = 0;
    unsigned high = 0;
    uint64_t seq = 0;
    if (std::from_chars(id.data() + 9, id.data() + 13, low, 16).ptr != id.data() + 13) return std::nullopt;
    if (std::from_chars(id.data() + 15, id.data() + 18, high, 16).ptr != id.data() + 18) return std::nullopt;
    if (std::from_chars(id.data() + 24, id.data() + 36, seq, 16).ptr != id.data() + 36) return std::nullopt;
    return std::pair<int, uint64_t>{static_cast<int>((high << 16) | low), seq};
  }

  /// Appends the whole server frame of batch `seq` of node `node` to `out`.
  void appendFrame(std::string& out, int node, int node_num, const std::string& public_key, uint64_t seq) {
    std::string& m = scratch_;
    m.clear();
    m += R"({"type":"generated","batch":{"public_key":")";
    m += public_key;
    m += R"(","block_hash":")";
    m += block_hash_;
    m += R"(","block_height":)";
    m += std::to_string(block_height_);
    m += R"(,"nonces":[)";
    Rng rng(mix(seed_ ^ mix((static_cast<uint64_t>(node) << 48) ^ seq)));
    // Unique per run by block_hash; unique within the run by this first nonce.
    m += std::to_string((seq << 16) | static_cast<uint64_t>(node & 0xffff));
    for (int i = 1; i < nonces_; ++i) {
      m += ',';
      m += nonce_pool_[rng.next() % kPoolSize];
    }
    m += R"(],"dist":[)";
    for (int i = 0; i < nonces_; ++i) {
      if (i > 0) m += ',';
      m += dist_pool_[rng.next() % kPoolSize];
    }
    m += R"(],"node_id":)";
    m += std::to_string(node_num);
    m += R"(},"id":")";
    m += id(node, seq);
    m += R"("})";
    appendFrameHeader(out, 0x1, m.size(), /*masked=*/false);
    out += m;
    bytes_ += m.size();
    ++built_;
  }

  uint64_t bytes() const { return bytes_; }
  uint64_t built() const { return built_; }

 private:
  uint64_t seed_;
  int nonces_;
  std::string block_hash_;
  int64_t block_height_ = 0;
  std::string id_prefix_;
  std::vector<std::string> nonce_pool_;
  std::vector<std::string> dist_pool_;
  std::string scratch_;
  uint64_t bytes_ = 0;
  uint64_t built_ = 0;
};

// ---------------------------------------------------------------------------
// The ML nodes: one listening socket and at most one connection each.

enum class ConnState { Handshake, Open, Closing };

struct Conn {
  int fd = -1;
  ConnState state = ConnState::Handshake;
  std::string in;
  std::size_t in_pos = 0;
  std::string out;
  std::size_t out_pos = 0;
  std::string message;  // a fragmented text message being assembled
  bool want_out = false;
};

struct MlNode {
  int index = 0;
  int node_num = 0;
  int port = 0;
  int listen_fd = -1;
  std::string public_key;
  Conn conn;
  // Per batch, by seq: when it was (last) sent, and how often it was acknowledged.
  std::vector<int64_t> sent_ns;
  std::vector<uint32_t> acks;
  std::vector<uint64_t> resend;  // unacknowledged seqs to send again on the next connection
  uint64_t next_seq = 0;
  int inflight = 0;
  int64_t next_due_ns = 0;
  // Counters.
  int connections = 0;
  int refused = 0;  // second clients closed with 1008
  int lost = 0;     // connections that ended while batches were unacknowledged or during the run
  uint64_t acked = 0;
  uint64_t duplicate_acks = 0;
  uint64_t resent = 0;
  std::map<int, int> close_codes;
};

class Intake {
 public:
  explicit Intake(const Options& o) : o_(o), maker_(o.seed, o.nonces), timeline_(1, 0) {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    timer_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (epoll_ < 0 || timer_ < 0) throw std::runtime_error(std::string("epoll/timerfd: ") + std::strerror(errno));
    addFd(timer_, EPOLLIN, kTimerTag);
    Rng rng(mix(o.seed ^ 0x5eed));
    nodes_.resize(static_cast<std::size_t>(o.nodes));
    for (int i = 0; i < o.nodes; ++i) {
      auto& n = nodes_[static_cast<std::size_t>(i)];
      n.index = i;
      n.node_num = o.first_node_num + i;
      n.public_key = hex(rng, 64);
      n.listen_fd = listenOn(o.base_port > 0 ? o.base_port + i : 0, n.port);
      addFd(n.listen_fd, EPOLLIN, tag(i, true));
    }
  }

  ~Intake() {
    for (auto& n : nodes_) {
      if (n.conn.fd >= 0) ::close(n.conn.fd);
      if (n.listen_fd >= 0) ::close(n.listen_fd);
    }
    ::close(timer_);
    ::close(epoll_);
  }

  std::vector<MlNode>& nodes() { return nodes_; }
  const std::vector<MlNode>& nodes() const { return nodes_; }
  BatchMaker& maker() { return maker_; }

  int connected() const {
    int c = 0;
    for (const auto& n : nodes_) c += n.conn.fd >= 0 && n.conn.state == ConnState::Open;
    return c;
  }

  /// Serves handshakes (and nothing else) until every node is connected or the deadline.
  bool waitForConnections(int64_t deadline) {
    while (connected() < o_.nodes && nowNs() < deadline) pump(50);
    return connected() == o_.nodes;
  }

  void startSending(int64_t run_start, int64_t measure_from, int64_t stop_ns) {
    sending_ = true;
    run_start_ = run_start;
    measure_from_ = measure_from;
    stop_ns_ = stop_ns;
    timeline_.assign(static_cast<std::size_t>((stop_ns - run_start) / kSlotNs + 1), 0);
    for (auto& n : nodes_) {
      n.next_due_ns = run_start + (o_.rate > 0 ? static_cast<int64_t>(interval() * n.index / o_.nodes) : 0);
      fill(n);
    }
  }

  void runUntil(int64_t until_ns) {
    while (nowNs() < until_ns) pump(static_cast<int>(std::min<int64_t>(100, (until_ns - nowNs()) / 1'000'000 + 1)));
  }

  void stopSending() { sending_ = false; }

  uint64_t outstanding() const {
    uint64_t total = 0;
    for (const auto& n : nodes_) total += static_cast<uint64_t>(n.inflight) + n.resend.size();
    return total;
  }

  void drain(int64_t deadline) {
    while (outstanding() > 0 && nowNs() < deadline) pump(20);
  }

  /// Closes every connection with 1000 and gives the node a moment to answer.
  void closeAll() {
    for (auto& n : nodes_) {
      if (n.conn.fd < 0 || n.conn.state != ConnState::Open) continue;
      queueControl(n.conn, 0x8,
                   std::string("\x03\xe8"
                               "bench done",
                               12));
      n.conn.state = ConnState::Closing;
      flush(n);
    }
    const int64_t deadline = nowNs() + 500'000'000;
    while (nowNs() < deadline) {
      bool any = false;
      for (const auto& n : nodes_) any = any || n.conn.fd >= 0;
      if (!any) break;
      pump(20);
    }
  }

  const Histogram& latency() const { return latency_; }
  const Histogram& latencyAll() const { return latency_all_; }
  uint64_t unknownAcks() const { return unknown_acks_; }
  uint64_t otherMessages() const { return other_messages_; }
  const std::string& firstOther() const { return first_other_; }
  uint64_t acksBetween(int64_t from, int64_t to) const {
    uint64_t sum = 0;
    for (std::size_t i = 0; i < timeline_.size(); ++i) {
      const int64_t slot_start = run_start_ + static_cast<int64_t>(i) * kSlotNs;
      if (slot_start >= from && slot_start < to) sum += timeline_[i];
    }
    return sum;
  }
  std::vector<uint64_t> perSecond() const {
    std::vector<uint64_t> out;
    const std::size_t per = static_cast<std::size_t>(kNsPerSec / kSlotNs);
    for (std::size_t i = 0; i < timeline_.size(); ++i) {
      if (i % per == 0) out.push_back(0);
      out.back() += timeline_[i];
    }
    return out;
  }
  int64_t maxScheduleLagNs() const { return max_lag_ns_; }
  uint64_t lateSends() const { return late_sends_; }

 private:
  static constexpr uint64_t kTimerTag = ~uint64_t{0};
  static uint64_t tag(int node, bool listener) { return (static_cast<uint64_t>(node) << 1) | (listener ? 1 : 0); }

  double interval() const { return o_.rate > 0 ? 1e9 * o_.nodes / o_.rate : 0; }

  void addFd(int fd, uint32_t events, uint64_t data) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = data;
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0)
      throw std::runtime_error(std::string("epoll_ctl: ") + std::strerror(errno));
  }

  int listenOn(int port, int& bound_port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, o_.listen.c_str(), &addr.sin_addr) != 1)
      throw std::runtime_error("--listen '" + o_.listen + "' is not an IPv4 address");
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 16) != 0)
      throw std::runtime_error(
          fmt("cannot listen on %s:%d: %s; pick another --base-port", o_.listen.c_str(), port, std::strerror(errno)));
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    bound_port = ntohs(addr.sin_port);
    return fd;
  }

  void pump(int timeout_ms) {
    armTimer();
    epoll_event events[64];
    const int n = epoll_wait(epoll_, events, 64, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) return;
      throw std::runtime_error(std::string("epoll_wait: ") + std::strerror(errno));
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t data = events[i].data.u64;
      if (data == kTimerTag) {
        uint64_t expirations = 0;
        [[maybe_unused]] auto r = ::read(timer_, &expirations, sizeof(expirations));
        continue;
      }
      auto& node = nodes_[data >> 1];
      if (data & 1) {
        onAccept(node);
        continue;
      }
      if (node.conn.fd < 0) continue;
      if (events[i].events & EPOLLOUT) flush(node);
      if (node.conn.fd >= 0 && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) onReadable(node);
    }
    // Also while draining: batches to resend after a reconnect go out then too.
    for (auto& node : nodes_) fill(node);
  }

  /// In paced mode, wakes the loop when the earliest node is due.
  void armTimer() {
    if (!sending_ || o_.rate <= 0) return;
    int64_t due = INT64_MAX;
    for (const auto& n : nodes_) {
      if (n.conn.fd >= 0 && n.conn.state == ConnState::Open && n.inflight < o_.window)
        due = std::min(due, n.next_due_ns);
    }
    if (due == INT64_MAX) return;
    itimerspec spec{};
    due = std::max(due, nowNs() + 1000);
    spec.it_value.tv_sec = due / kNsPerSec;
    spec.it_value.tv_nsec = due % kNsPerSec;
    timerfd_settime(timer_, TFD_TIMER_ABSTIME, &spec, nullptr);
  }

  void onAccept(MlNode& node) {
    while (true) {
      const int fd = accept4(node.listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      if (node.conn.fd >= 0) {
        // Like a real ML node: one client at a time. The handshake is not read, so
        // answer with a plain HTTP refusal rather than a close frame.
        ++node.refused;
        static constexpr std::string_view kBusy =
            "HTTP/1.1 409 Conflict\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        [[maybe_unused]] auto w = ::send(fd, kBusy.data(), kBusy.size(), MSG_NOSIGNAL);
        ::close(fd);
        continue;
      }
      node.conn = Conn{};
      node.conn.fd = fd;
      node.conn.in.reserve(1 << 16);
      addFd(fd, EPOLLIN | EPOLLRDHUP, tag(node.index, false));
    }
  }

  void setWantOut(MlNode& node, bool want) {
    if (node.conn.want_out == want) return;
    node.conn.want_out = want;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0u);
    ev.data.u64 = tag(node.index, false);
    epoll_ctl(epoll_, EPOLL_CTL_MOD, node.conn.fd, &ev);
  }

  /// Writes what is queued; returns false when the connection failed.
  bool flush(MlNode& node) {
    auto& c = node.conn;
    while (c.out_pos < c.out.size()) {
      const ssize_t w = ::send(c.fd, c.out.data() + c.out_pos, c.out.size() - c.out_pos, MSG_NOSIGNAL);
      if (w > 0) {
        c.out_pos += static_cast<std::size_t>(w);
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        setWantOut(node, true);
        return true;
      }
      drop(node, std::string("send: ") + std::strerror(errno), 1006);
      return false;
    }
    c.out.clear();
    c.out_pos = 0;
    setWantOut(node, false);
    return true;
  }

  void queueControl(Conn& c, uint8_t opcode, std::string_view payload) {
    appendFrameHeader(c.out, opcode, payload.size(), /*masked=*/false);
    c.out.append(payload);
  }

  /// Sends batches while the window, the pacing and the socket allow.
  void fill(MlNode& node) {
    auto& c = node.conn;
    if (c.fd < 0 || c.state != ConnState::Open) return;
    // Only build the next batch once the socket took the previous ones, so a
    // batch's send time is when the kernel has it, not when it was queued here.
    while (c.out.size() - c.out_pos == 0 && node.inflight < o_.window) {
      const int64_t now = nowNs();
      uint64_t seq = 0;
      if (!node.resend.empty()) {
        seq = node.resend.back();
        node.resend.pop_back();
        ++node.resent;
      } else {
        if (!sending_) break;
        if (o_.rate > 0) {
          if (now < node.next_due_ns) break;
          const int64_t lag = now - node.next_due_ns;
          max_lag_ns_ = std::max(max_lag_ns_, lag);
          if (lag > 1'000'000) ++late_sends_;
          node.next_due_ns += static_cast<int64_t>(interval());
        }
        seq = node.next_seq++;
        node.sent_ns.push_back(0);
        node.acks.push_back(0);
      }
      maker_.appendFrame(c.out, node.index, node.node_num, node.public_key, seq);
      node.sent_ns[seq] = now;
      ++node.inflight;
      if (!flush(node)) return;
    }
  }

  void onReadable(MlNode& node) {
    auto& c = node.conn;
    char buf[65536];
    while (true) {
      const ssize_t r = ::recv(c.fd, buf, sizeof(buf), 0);
      if (r > 0) {
        c.in.append(buf, static_cast<std::size_t>(r));
        continue;
      }
      if (r == 0) {
        consume(node);
        if (node.conn.fd >= 0) drop(node, "the node closed the connection", 1006);
        return;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      drop(node, std::string("recv: ") + std::strerror(errno), 1006);
      return;
    }
    consume(node);
  }

  void consume(MlNode& node) {
    auto& c = node.conn;
    if (c.state == ConnState::Handshake) {
      const auto end = c.in.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (c.in.size() > 16384) drop(node, "handshake too long", 1002);
        return;
      }
      const std::string head = c.in.substr(0, end + 2);
      c.in.erase(0, end + 4);
      handshake(node, head);
      if (c.fd < 0) return;
    }
    while (c.fd >= 0) {
      const auto* p = reinterpret_cast<const unsigned char*>(c.in.data()) + c.in_pos;
      const std::size_t avail = c.in.size() - c.in_pos;
      const auto h = parseFrameHeader(p, avail);
      if (!h || avail < h->size + h->length) break;
      // The node is the client here: its frames are masked (RFC 6455 §5.3).
      std::string payload(reinterpret_cast<const char*>(p + h->size), static_cast<std::size_t>(h->length));
      if (h->masked) {
        const unsigned char* key = p + h->size - 4;
        for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(payload[i] ^ key[i % 4]);
      }
      c.in_pos += h->size + static_cast<std::size_t>(h->length);
      onFrame(node, h->fin, h->opcode, payload);
    }
    if (c.fd >= 0 && c.in_pos > 0) {
      c.in.erase(0, c.in_pos);
      c.in_pos = 0;
    }
  }

  void handshake(MlNode& node, const std::string& head) {
    auto& c = node.conn;
    const auto line_end = head.find("\r\n");
    const std::string request_line = head.substr(0, line_end);
    const auto key = headerValue(head, "sec-websocket-key");
    const bool path_ok = request_line.rfind("GET " + std::string(kSocketPath) + " ", 0) == 0 ||
                         request_line.rfind("GET " + std::string(kSocketPath) + "?", 0) == 0;
    if (!path_ok || !key) {
      std::fprintf(stderr, "pow_intake_bench: node %d: refused handshake '%s'\n", node.node_num, request_line.c_str());
      c.out = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      flush(node);
      drop(node, "bad handshake: " + request_line, 1002);
      return;
    }
    c.out = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
            websocketAccept(*key) + "\r\n\r\n";
    c.state = ConnState::Open;
    ++node.connections;
    // Batches not acknowledged on an earlier connection go first, oldest first.
    std::sort(node.resend.begin(), node.resend.end(), std::greater<>());
    if (!flush(node)) return;
    if (sending_ || !node.resend.empty()) fill(node);
  }

  void onFrame(MlNode& node, bool fin, uint8_t opcode, const std::string& payload) {
    auto& c = node.conn;
    switch (opcode) {
      case 0x9:  // ping
        queueControl(c, 0xA, payload);
        flush(node);
        return;
      case 0xA:  // pong
        return;
      case 0x8: {  // close
        const int code = closeCode(payload);
        if (c.state == ConnState::Open) {
          queueControl(c, 0x8, payload.substr(0, 2));
          flush(node);
        }
        drop(node, "", code);
        return;
      }
      case 0x0:
      case 0x1:
      case 0x2:
        c.message += payload;
        if (!fin) return;
        onMessage(node, c.message);
        c.message.clear();
        return;
      default:
        drop(node, fmt("unknown opcode %u", opcode), 1002);
    }
  }

  void onMessage(MlNode& node, std::string_view m) {
    const int64_t now = nowNs();
    if (findString(m, "\"type\":") != "ack") {
      noteOther(m);
      return;
    }
    const auto parsed = maker_.parseId(findString(m, "\"id\":"));
    if (!parsed || parsed->first != node.index || parsed->second >= node.next_seq) {
      ++unknown_acks_;
      noteOther(m);
      return;
    }
    const uint64_t seq = parsed->second;
    if (node.acks[seq]++ > 0) {
      ++node.duplicate_acks;
      return;
    }
    ++node.acked;
    --node.inflight;
    const int64_t sent = node.sent_ns[seq];
    latency_all_.record(now - sent);
    if (sent >= measure_from_ && sent < stop_ns_) latency_.record(now - sent);
    if (now >= run_start_) {
      const auto slot = static_cast<std::size_t>((now - run_start_) / kSlotNs);
      if (slot < timeline_.size()) timeline_[slot] += 1;
    }
    fill(node);
  }

  void noteOther(std::string_view m) {
    ++other_messages_;
    if (first_other_.empty()) first_other_ = std::string(m.substr(0, 200));
  }

  /// Ends the connection; batches still unacknowledged are sent again on the next one.
  void drop(MlNode& node, const std::string& why, int code) {
    auto& c = node.conn;
    if (c.fd < 0) return;
    if (code != 0) ++node.close_codes[code];
    const bool was_open = c.state == ConnState::Open;
    if (was_open && (sending_ || node.inflight > 0)) {
      ++node.lost;
      if (!why.empty())
        std::fprintf(stderr, "pow_intake_bench: node %d: connection lost: %s\n", node.node_num, why.c_str());
    }
    for (uint64_t seq = 0; seq < node.next_seq; ++seq) {
      if (node.acks[seq] == 0 && std::find(node.resend.begin(), node.resend.end(), seq) == node.resend.end())
        node.resend.push_back(seq);
    }
    node.inflight = 0;
    epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    c = Conn{};
  }

  const Options& o_;
  BatchMaker maker_;
  std::vector<MlNode> nodes_;
  int epoll_ = -1;
  int timer_ = -1;
  bool sending_ = false;
  int64_t run_start_ = INT64_MAX;
  int64_t measure_from_ = INT64_MAX;
  int64_t stop_ns_ = INT64_MAX;
  Histogram latency_;
  Histogram latency_all_;
  std::vector<uint64_t> timeline_;
  uint64_t unknown_acks_ = 0;
  uint64_t other_messages_ = 0;
  std::string first_other_;
  int64_t max_lag_ns_ = 0;
  uint64_t late_sends_ = 0;
};

// ---------------------------------------------------------------------------
// Run and report

std::string closeCodeList(const std::vector<MlNode>& nodes) {
  std::map<int, int> all;
  for (const auto& n : nodes)
    for (const auto& [code, count] : n.close_codes) all[code] += count;
  std::string out;
  for (const auto& [code, count] : all) out += fmt("%s%d:%d", out.empty() ? "" : ",", code, count);
  return out.empty() ? "none" : out;
}

int run(const Options& o) {
  Intake intake(o);
  std::string ports;
  for (const auto& n : intake.nodes()) ports += fmt("%s%d", ports.empty() ? "" : ",", n.port);
  std::printf("LISTENING ports=%s\n", ports.c_str());
  std::fflush(stdout);

  const int64_t setup_start = nowNs();
  if (!intake.waitForConnections(setup_start + static_cast<int64_t>(o.connect_timeout_s * 1e9))) {
    std::printf(
        "pow_intake_bench: only %d of %d ML nodes were dialled within %.0f s; is the node running with "
        "these ports in its pow_batches config?\n",
        intake.connected(), o.nodes, o.connect_timeout_s);
    std::printf("RESULT nodes=%d connected=%d setup_failed=1\n", o.nodes, intake.connected());
    return kExitSetupFailed;
  }
  const double setup_s = seconds(nowNs() - setup_start);

  const int node_pid = readPidFile(o.node_pid_file);
  const long rss_before = readRssKib(node_pid);
  const double node_cpu_before = readCpuSeconds(node_pid);
  const double self_cpu_before = selfCpuSeconds();
  const int64_t duration_ns = static_cast<int64_t>(o.duration_s * 1e9);
  const int64_t warmup_ns = static_cast<int64_t>(o.warmup_s * 1e9);
  const int64_t run_start = nowNs();
  const int64_t stop_ns = run_start + duration_ns;
  intake.startSending(run_start, run_start + warmup_ns, stop_ns);
  intake.runUntil(stop_ns);
  intake.stopSending();
  const int64_t send_stop = nowNs();
  const double node_cpu_after = readCpuSeconds(node_pid);
  const double self_cpu_after = selfCpuSeconds();
  const long rss_after = readRssKib(node_pid);
  const uint64_t outstanding_at_stop = intake.outstanding();
  const int64_t drain_start = nowNs();
  intake.drain(drain_start + static_cast<int64_t>(o.drain_timeout_s * 1e9));
  const double drain_s = seconds(nowNs() - drain_start);

  uint64_t sent = 0, acked = 0, duplicate = 0, resent = 0;
  int lost = 0, refused = 0, connections = 0;
  for (const auto& n : intake.nodes()) {
    sent += n.next_seq;
    acked += n.acked;
    duplicate += n.duplicate_acks;
    resent += n.resent;
    lost += n.lost;
    refused += n.refused;
    connections += n.connections;
  }
  const uint64_t missing = sent - acked;
  const int64_t window_from = run_start + warmup_ns;
  const double window_s = seconds(send_stop - window_from);
  const uint64_t window_acks = intake.acksBetween(window_from, send_stop);
  const double acks_per_s = window_s > 0 ? static_cast<double>(window_acks) / window_s : 0;
  const double run_s = seconds(send_stop - run_start);
  const double node_cpu = node_cpu_before >= 0 && node_cpu_after >= 0 ? node_cpu_after - node_cpu_before : -1;
  const double self_cpu = self_cpu_after - self_cpu_before;
  const double batch_bytes =
      intake.maker().built() ? static_cast<double>(intake.maker().bytes()) / intake.maker().built() : 0;
  const auto& lat = intake.latency();
  const auto& all = intake.latencyAll();
  // Little's law: closed loop keeps W batches in flight per node, so mean latency = N * W / throughput.
  const double littles_ms = acks_per_s > 0 ? 1000.0 * o.window * o.nodes / acks_per_s : 0;
  const uint64_t run_acks = intake.acksBetween(run_start, send_stop);
  const double node_us_per_batch = node_cpu >= 0 && run_acks > 0 ? node_cpu * 1e6 / static_cast<double>(run_acks) : -1;

  std::printf("pow_intake_bench\n");
  std::printf("  ML nodes      %d on %s ports %s, node_id %d..%d, dialled after %.2f s\n", o.nodes, o.listen.c_str(),
              ports.c_str(), o.first_node_num, o.first_node_num + o.nodes - 1, setup_s);
  std::printf("  batches       %d nonces + dist each, %.1f KiB a message; window %d per node%s\n", o.nonces,
              batch_bytes / 1024.0, o.window,
              o.rate > 0 ? fmt(", paced at %.0f batches/s (max schedule lag %.2f ms, %" PRIu64 " sends >1 ms late)",
                               o.rate, ms(intake.maxScheduleLagNs()), intake.lateSends())
                               .c_str()
                         : ", closed loop");
  std::printf("  sent          %" PRIu64 " batches in %.1f s (%" PRIu64 " resent after a reconnect); %" PRIu64
              " unacknowledged at stop, drain %.2f s\n",
              sent, run_s, resent, outstanding_at_stop, drain_s);
  std::printf("  acked         %" PRIu64
              " batches; steady window %.1f..%.1f s: %.0f acked batches/s (%.1f MiB/s of JSON)\n",
              acked, o.warmup_s, run_s, acks_per_s, acks_per_s * batch_bytes / (1024.0 * 1024.0));
  std::string timeline;
  for (const auto v : intake.perSecond()) timeline += fmt(" %" PRIu64, v);
  std::printf("  per second   %s\n", timeline.c_str());
  std::printf("  ack latency   p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms, mean %.2f ms (%" PRIu64
              " batches sent in the steady window; send -> ack)\n",
              ms(lat.percentile(0.5)), ms(lat.percentile(0.99)), ms(lat.percentile(0.999)), ms(lat.max()),
              ms(static_cast<int64_t>(lat.mean())), lat.count());
  std::printf("                all batches: p50 %.2f ms, p99 %.2f ms, max %.2f ms%s\n", ms(all.percentile(0.5)),
              ms(all.percentile(0.99)), ms(all.max()),
              o.rate > 0
                  ? ""
                  : fmt("; with the window always full, Little's law puts the mean at %.1f ms", littles_ms).c_str());
  std::printf("  checks        missing %" PRIu64 ", duplicate acks %" PRIu64 ", unknown acks %" PRIu64
              ", other messages %" PRIu64 "; connections %d, lost %d, second clients refused %d; close codes %s\n",
              missing, duplicate, intake.unknownAcks(), intake.otherMessages(), connections, lost, refused,
              closeCodeList(intake.nodes()).c_str());
  if (!intake.firstOther().empty()) std::printf("  first other   %s\n", intake.firstOther().c_str());
  std::printf(
      "  cpu           node %s, loader %.0f%% of one core over %.1f s (%ld cores shared); node %s CPU per batch\n",
      node_cpu >= 0 ? fmt("%.0f%%", 100 * node_cpu / run_s).c_str() : "n/a (no --node-pid-file)",
      100 * self_cpu / run_s, run_s, sysconf(_SC_NPROCESSORS_ONLN),
      node_us_per_batch >= 0 ? fmt("%.0f us", node_us_per_batch).c_str() : "n/a");
  if (rss_before >= 0)
    std::printf("  node RSS      %.1f MiB before, %.1f MiB after\n", rss_before / 1024.0, rss_after / 1024.0);
  std::printf(
      "RESULT nodes=%d window=%d nonces=%d rate=%.0f duration_s=%.1f warmup_s=%.1f batch_bytes=%.0f sent=%" PRIu64
      " acked=%" PRIu64 " missing=%" PRIu64 " duplicate_acks=%" PRIu64 " unknown_acks=%" PRIu64 " resent=%" PRIu64
      " lost=%d acked_per_s=%.0f p50_ms=%.2f p99_ms=%.2f p999_ms=%.2f max_ms=%.2f latency_samples=%" PRIu64
      " node_cpu_pct=%.0f node_cpu_us_per_batch=%.0f loader_cpu_pct=%.0f node_rss_kib=%ld close_codes=%s\n",
      o.nodes, o.window, o.nonces, o.rate, o.duration_s, o.warmup_s, batch_bytes, sent, acked, missing, duplicate,
      intake.unknownAcks(), resent, lost, acks_per_s, ms(lat.percentile(0.5)), ms(lat.percentile(0.99)),
      ms(lat.percentile(0.999)), ms(lat.max()), lat.count(), node_cpu >= 0 ? 100 * node_cpu / run_s : -1.0,
      node_us_per_batch, 100 * self_cpu / run_s, rss_after, closeCodeList(intake.nodes()).c_str());
  std::fflush(stdout);
  intake.closeAll();

  const bool broken = missing > 0 || duplicate > 0 || intake.unknownAcks() > 0 || lost > 0 || acked == 0;
  return broken ? kExitCheckFailed : kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  try {
    options = parseOptions(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pow_intake_bench: %s\n%s", e.what(), kUsage);
    return kExitUsage;
  }
  signal(SIGPIPE, SIG_IGN);
  try {
    return run(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pow_intake_bench: %s\n", e.what());
    return kExitSetupFailed;
  }
}
