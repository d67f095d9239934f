// ws_fanout_bench: a load generator for the node's WebSocket fan-out.
//
// N subscriber WebSockets on one topic or several (our own handshake and
// RFC 6455 framing over non-blocking sockets and one epoll loop), on one node
// or spread over several gateways of a cluster, one or more keep-alive
// HTTP/1.1 connections publishing with up to K pipelined requests in flight
// each, and on the receiving side: deliveries per second, publish→receive
// latency percentiles, and per-connection offset checks (missing, duplicate,
// out of order) — through Redis as through memory. See run_fanout.sh and
// run_cluster.sh.
// It runs as its own process because the open-file hard limit (20,000) does
// not fit 10,000 connections on both ends in one process.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_support.hpp"

namespace {

// Clock, histogram, RNG, framing, /proc readings...: shared with the other bench.
using namespace eventnode::bench;

constexpr int64_t kSlotNs = 10'000'000;  // deliveries are counted per 10 ms of receive time

enum class Mode { Throughput, Latency, Idle };

struct Options {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string path = "/ws";
  int connections = 1000;
  std::string topic = "bench";
  double duration_s = 10;
  double warmup_s = -1;  // negative: min(2 s, duration / 5)
  int inflight = 32;
  int batch = 1;
  int payload = 128;
  std::string api_key = "benchkey-0123456789";
  Mode mode = Mode::Throughput;
  double rate = 100000;
  int node_pid = 0;
  int window = 256;
  int connect_batch = 200;
  double connect_timeout_s = 15;
  double drain_timeout_s = 10;
  std::vector<int> subscriber_ports;  // empty: every subscriber on --port
  std::vector<int> publish_ports;     // empty: every publisher on --port
  int publishers = 1;
  int topics = 1;
  std::vector<int> cpu_pids;  // processes whose CPU time is reported over the publishing time
};

/// The i-th topic's name: --topic itself when there is one, else <topic>-<i>.
std::string topicName(const Options& o, int i) {
  return o.topics == 1 ? o.topic : o.topic + "-" + std::to_string(i);
}

/// "1,2,3" as integers >= min.
std::vector<int> intList(const std::string& flag, const std::string& v, int min) {
  std::vector<int> out;
  std::size_t pos = 0;
  while (pos <= v.size()) {
    const auto comma = std::min(v.find(',', pos), v.size());
    int x = 0;
    const auto [end, ec] = std::from_chars(v.data() + pos, v.data() + comma, x);
    if (ec != std::errc{} || end != v.data() + comma || x < min)
      throw std::invalid_argument(flag + " needs a comma-separated list of integers >= " + std::to_string(min) +
                                  ", got '" + v + "'");
    out.push_back(x);
    pos = comma + 1;
  }
  return out;
}

const char* modeName(Mode m) {
  switch (m) {
    case Mode::Throughput:
      return "throughput";
    case Mode::Latency:
      return "latency";
    case Mode::Idle:
      return "idle";
  }
  return "?";
}

constexpr const char* kUsage = R"(usage: ws_fanout_bench [options]
  --host H              node address (default 127.0.0.1)
  --port P              node port (default 8080)
  --publish-ports P1,P2,...
                        publisher i publishes to port i % count (default: all on --port)
  --subscriber-ports P1,P2,...
                        spread the subscribers round-robin over these ports (several gateways of one
                        cluster); default: all on --port. Offset checks stay per connection.
  --path /ws            WebSocket path (default /ws)
  --connections N       subscriber WebSockets (default 1000)
  --topic T             topic every subscriber joins through ?subscriptions=T (default bench)
  --topics N            N topics T-0..T-(N-1) (default 1: T itself); subscriber i joins one of them,
                        publishes go round-robin over them (e.g. to spread topics over Redis shards)
  --publishers P        publishing HTTP connections, each with its own thread and --inflight (default 1)
  --mode M              throughput | latency | idle (default throughput)
  --duration S          publishing time, or holding time in idle mode (default 10)
  --warmup S            start of the steady window (default min(2, duration/5))
  --inflight K          pipelined HTTP requests in flight (default 32)
  --batch B             events per publish request; B>1 sends a JSON array (default 1)
  --payload BYTES       size of each event's data object (default 128)
  --api-key KEY         X-API-Key for publishing (default benchkey-0123456789)
  --rate R              latency mode: target deliveries/s in total, i.e. R/N publishes/s with N subscribers
                        per topic (default 100000); publishes/s = R x topics / connections
  --window W            throughput mode: at most W events per subscriber published but not yet
                        delivered (on average); 0 = open loop, publish only limited by K (default 256)
  --node-pid PID        read the node's VmRSS and CPU time from /proc/PID (idle mode needs it for RSS)
  --cpu-pids A,B,...    also report these processes' CPU time over the publishing time (other gateways, redis)
  --connect-batch C     connections opened at a time (default 200)
  --connect-timeout S   per connect batch (default 15)
  --drain-timeout S     after publishing stops, wait this long for the last deliveries (default 10)
  --io-threads N        accepted and ignored (one receive thread, one publish thread)
exit: 0 ok, 1 deliveries missing/duplicate/out of order or connections lost, 2 usage, 3 setup failed
)";

// ---------------------------------------------------------------------------
// Command line

std::optional<Options> parseOptions(int argc, char** argv) {
  Options o;
  FlagReader args(argc, argv, kUsage);
  while (args.next()) {
    const std::string& flag = args.flag();
    const auto integer = [&](int min) {
      const std::string v = args.value();
      int out = 0;
      const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
      if (ec != std::errc{} || end != v.data() + v.size() || out < min)
        throw std::invalid_argument(flag + " needs an integer >= " + std::to_string(min) + ", got '" + v + "'");
      return out;
    };
    const auto real = [&](double min) {
      std::string v;
      const auto out = args.real(v);
      if (!out || *out < min)
        throw std::invalid_argument(flag + " needs a number >= " + std::to_string(min) + ", got '" + v + "'");
      return *out;
    };
    if (flag == "--host") {
      o.host = args.value();
    } else if (flag == "--port") {
      o.port = integer(1);
    } else if (flag == "--path") {
      o.path = args.value();
    } else if (flag == "--connections") {
      o.connections = integer(1);
    } else if (flag == "--topic") {
      o.topic = args.value();
    } else if (flag == "--duration") {
      o.duration_s = real(0.1);
    } else if (flag == "--warmup") {
      o.warmup_s = real(0);
    } else if (flag == "--inflight") {
      o.inflight = integer(1);
    } else if (flag == "--batch") {
      o.batch = integer(1);
    } else if (flag == "--payload") {
      o.payload = integer(0);
    } else if (flag == "--api-key") {
      o.api_key = args.value();
    } else if (flag == "--mode") {
      const std::string m = args.value();
      if (m == "throughput") {
        o.mode = Mode::Throughput;
      } else if (m == "latency") {
        o.mode = Mode::Latency;
      } else if (m == "idle") {
        o.mode = Mode::Idle;
      } else {
        throw std::invalid_argument("--mode is throughput, latency or idle, got '" + m + "'");
      }
    } else if (flag == "--rate") {
      o.rate = real(0.001);
    } else if (flag == "--window") {
      o.window = integer(0);
    } else if (flag == "--node-pid") {
      o.node_pid = integer(1);
    } else if (flag == "--connect-batch") {
      o.connect_batch = integer(1);
    } else if (flag == "--connect-timeout") {
      o.connect_timeout_s = real(0.1);
    } else if (flag == "--drain-timeout") {
      o.drain_timeout_s = real(0);
    } else if (flag == "--subscriber-ports") {
      o.subscriber_ports = intList(flag, args.value(), 1);
    } else if (flag == "--publish-ports") {
      o.publish_ports = intList(flag, args.value(), 1);
    } else if (flag == "--publishers") {
      o.publishers = integer(1);
    } else if (flag == "--topics") {
      o.topics = integer(1);
    } else if (flag == "--cpu-pids") {
      o.cpu_pids = intList(flag, args.value(), 1);
    } else if (flag == "--io-threads") {
      (void)args.value();
    } else {
      throw std::invalid_argument("unknown argument '" + args.raw() + "' (see --help)");
    }
  }
  if (o.subscriber_ports.empty()) o.subscriber_ports.push_back(o.port);
  if (o.publish_ports.empty()) o.publish_ports.push_back(o.port);
  if (o.topics > o.connections) throw std::invalid_argument("--topics must not exceed --connections");
  if (o.warmup_s < 0) o.warmup_s = std::min(2.0, o.duration_s / 5);
  if (o.warmup_s >= o.duration_s) throw std::invalid_argument("--warmup must be shorter than --duration");
  return o;
}

// ---------------------------------------------------------------------------
// Publisher: one keep-alive connection, HTTP/1.1 pipelining, its own thread.

struct PublisherResult {
  uint64_t requests_sent = 0;
  uint64_t responses_ok = 0;
  uint64_t responses_error = 0;
  uint64_t events_acked = 0;
  uint64_t requests_lost = 0;  // sent, but the connection closed before their answer
  uint64_t reconnects = 0;
  int64_t first_offset = -1;
  int64_t max_offset = -1;
  int64_t max_lag_ns = 0;      // latency mode: how far behind its schedule a request went out
  uint64_t late_requests = 0;  // latency mode: requests sent more than 1 ms late
  int64_t started_ns = 0;
  int64_t stopped_ns = 0;
  std::string first_error;
  std::vector<int64_t> max_offset_of;  // per topic
  std::vector<uint64_t> acked_of;      // per topic

  /// Adds another publisher's result to this one.
  void add(const PublisherResult& r) {
    requests_sent += r.requests_sent;
    responses_ok += r.responses_ok;
    responses_error += r.responses_error;
    events_acked += r.events_acked;
    requests_lost += r.requests_lost;
    reconnects += r.reconnects;
    if (r.first_offset >= 0 && (first_offset < 0 || r.first_offset < first_offset)) first_offset = r.first_offset;
    max_offset = std::max(max_offset, r.max_offset);
    max_lag_ns = std::max(max_lag_ns, r.max_lag_ns);
    late_requests += r.late_requests;
    started_ns = started_ns == 0 ? r.started_ns : std::min(started_ns, r.started_ns);
    stopped_ns = std::max(stopped_ns, r.stopped_ns);
    if (first_error.empty()) first_error = r.first_error;
    max_offset_of.resize(std::max(max_offset_of.size(), r.max_offset_of.size()), -1);
    acked_of.resize(std::max(acked_of.size(), r.acked_of.size()), 0);
    for (std::size_t t = 0; t < r.max_offset_of.size(); ++t) {
      max_offset_of[t] = std::max(max_offset_of[t], r.max_offset_of[t]);
      acked_of[t] += r.acked_of[t];
    }
  }
};

class Publisher {
 public:
  /// `index` of `options.publishers`; `published` counts every publisher's events (for the window).
  Publisher(const Options& options, const sockaddr_in& addr, const std::atomic<uint64_t>& delivered, int subscribers,
            int index, std::atomic<int64_t>& published)
      : options_(options),
        addr_(addr),
        port_(ntohs(addr.sin_port)),
        delivered_(delivered),
        subscribers_(std::max(1, subscribers)),
        published_(published),
        index_(index),
        next_topic_(index % options.topics) {
    for (int t = 0; t < options.topics; ++t) topic_names_.push_back(topicName(options, t));
    result_.max_offset_of.assign(static_cast<std::size_t>(options.topics), -1);
    result_.acked_of.assign(static_cast<std::size_t>(options.topics), 0);
  }

  std::atomic<bool> stop{false};
  std::atomic<bool> finished{false};

  void run() {
    try {
      loop();
    } catch (const std::exception& e) {
      if (result_.first_error.empty()) result_.first_error = e.what();
    }
    if (fd_ >= 0) ::close(fd_);
    result_.stopped_ns = nowNs();
    finished.store(true);
  }

  /// Read only after finished is true.
  const PublisherResult& result() const { return result_; }

 private:
  void connectSocket() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error(std::string("publisher socket: ") + std::strerror(errno));
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr_), sizeof(addr_)) != 0)
      throw std::runtime_error(std::string("publisher connect: ") + std::strerror(errno));
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
    out_.clear();
    out_pos_ = 0;
    in_.clear();
  }

  void appendRequest(int64_t send_ns) {
    body_.clear();
    const int first_topic = next_topic_;
    if (options_.batch > 1) body_ += '[';
    for (int b = 0; b < options_.batch; ++b) {
      if (b > 0) body_ += ',';
      char data[96];
      const int n =
          std::snprintf(data, sizeof(data), "{\"sent_ns\":%" PRId64 ",\"seq\":%" PRId64 ",\"pad\":\"", send_ns, seq_++);
      const int pad = std::max(0, options_.payload - n - 2);
      body_ += "{\"topic\":\"";
      body_ += topic_names_[static_cast<std::size_t>(next_topic_)];
      next_topic_ = (next_topic_ + 1) % options_.topics;
      body_ += "\",\"data\":";
      body_.append(data, static_cast<std::size_t>(n));
      body_.append(static_cast<std::size_t>(pad), 'x');
      body_ += "\"}}";
    }
    if (options_.batch > 1) body_ += ']';
    char head[512];
    const int n = std::snprintf(head, sizeof(head),
                                "POST /api/v1/publish HTTP/1.1\r\nHost: %s:%d\r\nX-API-Key: %s\r\n"
                                "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                                options_.host.c_str(), port_, options_.api_key.c_str(), body_.size());
    out_.append(head, static_cast<std::size_t>(n));
    out_ += body_;
    inflight_.push_back({options_.batch, first_topic});
    published_.fetch_add(options_.batch, std::memory_order_relaxed);
    ++result_.requests_sent;
  }

  /// Parses one response at the front of in_; returns false when it is not complete yet.
  bool takeResponse() {
    auto response = takeHttpResponse(in_);
    if (!response) return false;
    onResponse(response->status, response->body);
    if (response->close) server_closing_ = true;
    return true;
  }

  void onResponse(int status, const std::string& body) {
    const auto [events, first_topic] = inflight_.empty() ? std::pair<int, int>{0, 0} : inflight_.front();
    if (!inflight_.empty()) inflight_.pop_front();
    if (status != 200) {
      ++result_.responses_error;
      if (result_.first_error.empty())
        result_.first_error = "HTTP " + std::to_string(status) + " " + body.substr(0, 300);
      return;
    }
    ++result_.responses_ok;
    result_.events_acked += static_cast<uint64_t>(events);
    // {"offset":N} for one event, {"offsets":[...]} for an array.
    int64_t lo = -1;
    int64_t hi = -1;
    // Item k of a request went to topic (first_topic + k) % topics.
    const auto seen = [&](int item, int64_t v) {
      lo = lo < 0 ? v : std::min(lo, v);
      hi = std::max(hi, v);
      const auto t = static_cast<std::size_t>((first_topic + item) % options_.topics);
      result_.max_offset_of[t] = std::max(result_.max_offset_of[t], v);
      ++result_.acked_of[t];
    };
    if (const auto list = body.find("\"offsets\""); list != std::string::npos) {
      const char* p = body.data() + body.find('[', list) + 1;
      const char* end = body.data() + body.size();
      int item = 0;
      while (p < end && *p != ']') {
        int64_t v = 0;
        const auto [stop_at, ec] = std::from_chars(p, end, v);
        if (ec == std::errc{}) {
          seen(item++, v);
          p = stop_at;
        } else {
          if (*p == 'n') ++item;  // null: refused, counted by the node
          ++p;
        }
      }
    } else if (const auto v = findInt(body, "\"offset\":")) {
      seen(0, *v);
    }
    if (lo >= 0 && (result_.first_offset < 0 || lo < result_.first_offset)) result_.first_offset = lo;
    result_.max_offset = std::max(result_.max_offset, hi);
  }

  bool flush() {
    while (out_pos_ < out_.size()) {
      const ssize_t n = ::send(fd_, out_.data() + out_pos_, out_.size() - out_pos_, MSG_NOSIGNAL);
      if (n > 0) {
        out_pos_ += static_cast<std::size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        break;
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        return false;
      }
    }
    if (out_pos_ == out_.size()) {
      out_.clear();
      out_pos_ = 0;
    } else if (out_pos_ > (1u << 20)) {
      out_.erase(0, out_pos_);
      out_pos_ = 0;
    }
    return true;
  }

  /// The connection went away: what was in flight is unanswered; carry on with a new one.
  void reconnect(const char* why) {
    result_.requests_lost += inflight_.size();
    inflight_.clear();
    ++result_.reconnects;
    if (result_.first_error.empty()) result_.first_error = std::string("publish connection lost: ") + why;
    server_closing_ = false;
    connectSocket();
  }

  void loop() {
    connectSocket();
    const bool paced = options_.mode == Mode::Latency;
    // Latency mode: R deliveries/s over N subscribers (N/T per topic) is R*T/N events/s, B per request,
    // shared by P publishers.
    const double per_event = static_cast<double>(subscribers_) / options_.topics;
    const auto interval_ns =
        paced ? static_cast<int64_t>(1e9 * options_.batch * per_event * options_.publishers / options_.rate)
              : int64_t{0};
    result_.started_ns = nowNs();
    // Publishers take turns: each starts its schedule a share of the interval after the previous one.
    int64_t next_due = result_.started_ns + interval_ns * index_ / options_.publishers;
    int64_t stop_seen_ns = 0;
    char buf[65536];
    for (;;) {
      int64_t now = nowNs();
      const bool stopping = stop.load(std::memory_order_relaxed);
      if (stopping && stop_seen_ns == 0) stop_seen_ns = now;
      bool window_blocked = false;
      while (!stopping && !server_closing_ && static_cast<int>(inflight_.size()) < options_.inflight) {
        if (paced) {
          if (now < next_due) break;
          const int64_t lag = now - next_due;
          result_.max_lag_ns = std::max(result_.max_lag_ns, lag);
          if (lag > 1'000'000) ++result_.late_requests;
          next_due += interval_ns;
        } else if (options_.window > 0) {
          const auto delivered_events = delivered_.load(std::memory_order_relaxed) *
                                        static_cast<uint64_t>(options_.topics) / static_cast<uint64_t>(subscribers_);
          if (static_cast<uint64_t>(published_.load(std::memory_order_relaxed)) >=
              delivered_events + static_cast<uint64_t>(options_.window) * static_cast<uint64_t>(options_.topics)) {
            window_blocked = true;
            break;
          }
        }
        appendRequest(nowNs());
        now = nowNs();
      }
      if (stopping && inflight_.empty()) break;
      if (stopping && now - stop_seen_ns > static_cast<int64_t>(options_.drain_timeout_s * 1e9)) {
        result_.requests_lost += inflight_.size();
        if (result_.first_error.empty()) result_.first_error = "publish answers still missing after the drain timeout";
        break;
      }
      if (!flush()) {
        reconnect(std::strerror(errno));
        continue;
      }
      int64_t wait_ns = 50'000'000;
      if (paced && !stopping && static_cast<int>(inflight_.size()) < options_.inflight)
        wait_ns = std::clamp<int64_t>(next_due - now, 0, wait_ns);
      if (window_blocked) wait_ns = 200'000;
      pollfd pfd{fd_, static_cast<short>(POLLIN | (out_.empty() ? 0 : POLLOUT)), 0};
      const timespec ts{static_cast<time_t>(wait_ns / kNsPerSec), static_cast<long>(wait_ns % kNsPerSec)};
      const int ready = ppoll(&pfd, 1, &ts, nullptr);
      if (ready <= 0 || (pfd.revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      bool closed = false;
      for (;;) {
        const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
        if (n > 0) {
          in_.append(buf, static_cast<std::size_t>(n));
          if (n < static_cast<ssize_t>(sizeof(buf))) break;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          break;
        } else if (n < 0 && errno == EINTR) {
          continue;
        } else {
          closed = true;
          break;
        }
      }
      while (takeResponse()) {
      }
      if (closed || (server_closing_ && inflight_.empty())) {
        if (stop.load() && inflight_.empty()) break;
        reconnect(closed ? "closed by the node" : "Connection: close");
      }
    }
  }

  const Options& options_;
  sockaddr_in addr_;
  int port_ = 0;
  const std::atomic<uint64_t>& delivered_;
  int subscribers_;
  std::atomic<int64_t>& published_;
  int index_ = 0;
  int next_topic_ = 0;
  std::vector<std::string> topic_names_;
  int fd_ = -1;
  int64_t seq_ = 0;
  std::string out_;
  std::size_t out_pos_ = 0;
  std::string in_;
  std::string body_;
  std::deque<std::pair<int, int>> inflight_;  // {events, first topic} per request, oldest first
  bool server_closing_ = false;
  PublisherResult result_;
};

// ---------------------------------------------------------------------------
// Subscribers: every WebSocket in one epoll loop on the main thread.

enum class State : uint8_t { Idle, Connecting, Handshake, Greeting, Ready, Failed, Closed };

struct Conn {
  int fd = -1;
  State state = State::Idle;
  bool got_connected = false;
  bool got_subscribed = false;
  bool want_out = false;
  uint8_t fragment_opcode = 0;
  uint16_t topic = 0;  // index into the topics
  uint16_t port = 0;   // index into --subscriber-ports
  int close_code = 0;
  int64_t base_offset = -1;  // the topic's offset in the subscribe confirmation
  int64_t last_offset = -1;  // highest offset received
  uint64_t received = 0;
  uint64_t missing = 0;
  uint64_t duplicate = 0;
  uint64_t out_of_order = 0;
  std::string accept;                             // expected Sec-WebSocket-Accept
  std::string in;                                 // bytes not parsed yet (partial handshake or frame)
  std::string fragments;                          // a fragmented message so far
  std::string out;                                // bytes not written yet
  std::vector<std::pair<int64_t, int64_t>> gaps;  // missing offset ranges [lo, hi], for telling late from duplicate
};

class Subscribers {
 public:
  /// Connection i goes to subscriber port i % P and joins topic (i / P) % T, so every port gets every topic.
  explicit Subscribers(const Options& options)
      : options_(options), conns_(static_cast<std::size_t>(options.connections)), rng_(nowNs()) {
    for (const int port : options.subscriber_ports) addrs_.push_back(resolve(options.host, port));
    for (int t = 0; t < options.topics; ++t) topic_names_.push_back(topicName(options, t));
    const auto ports = options.subscriber_ports.size();
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      conns_[i].port = static_cast<uint16_t>(i % ports);
      conns_[i].topic = static_cast<uint16_t>((i / ports) % static_cast<std::size_t>(options.topics));
    }
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
    read_buf_.resize(256 * 1024);
  }
  ~Subscribers() {
    for (auto& c : conns_)
      if (c.fd >= 0) ::close(c.fd);
    ::close(epoll_fd_);
  }

  std::atomic<uint64_t> delivered{0};

  /// Opens every connection, `connect_batch` at a time; returns how many are ready.
  int connectAll() {
    const auto n = conns_.size();
    for (std::size_t next = 0; next < n;) {
      const std::size_t end = std::min(n, next + static_cast<std::size_t>(options_.connect_batch));
      for (std::size_t i = next; i < end; ++i) startConnect(static_cast<uint32_t>(i));
      const int64_t deadline = nowNs() + static_cast<int64_t>(options_.connect_timeout_s * 1e9);
      while (setup_pending_ > 0 && nowNs() < deadline) pump(10);
      for (std::size_t i = next; i < end; ++i) {
        auto& c = conns_[i];
        if (c.state == State::Connecting || c.state == State::Handshake || c.state == State::Greeting)
          fail(c, std::string("timeout while ") + stateName(c.state));
      }
      next = end;
    }
    return ready_;
  }

  /// Runs the loop until `until_ns`.
  void runUntil(int64_t until_ns) {
    for (int64_t now = nowNs(); now < until_ns; now = nowNs())
      pump(static_cast<int>(std::clamp<int64_t>((until_ns - now) / 1'000'000, 1, 10)));
  }

  /// Runs the loop until every ready connection has seen its topic's final offset, or `until_ns`.
  void drain(const std::vector<int64_t>& final_offset, int64_t until_ns) {
    while (nowNs() < until_ns) {
      if (std::all_of(conns_.begin(), conns_.end(),
                      [&](const Conn& c) { return c.state != State::Ready || c.last_offset >= final_offset[c.topic]; }))
        return;
      pump(10);
    }
  }

  void pump(int timeout_ms) {
    epoll_event events[512];
    const int n = epoll_wait(epoll_fd_, events, 512, timeout_ms);
    for (int i = 0; i < n; ++i) {
      auto& c = conns_[events[i].data.u32];
      if (c.fd < 0) continue;
      const uint32_t ev = events[i].events;
      if (c.state == State::Connecting) {
        onConnected(c);
        continue;
      }
      if ((ev & EPOLLOUT) != 0) flush(c);
      if (c.fd >= 0 && (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) onReadable(c);
    }
    delivered.store(deliveries_, std::memory_order_relaxed);
  }

  /// Latency is recorded for events sent at or after this time (the steady window).
  void setMeasureFrom(int64_t sent_ns) { measure_from_ns_ = sent_ns; }
  /// Offsets after `offset` are tracked per event: the first and the last delivery's latency.
  void setEventBase(int64_t offset) { event_base_ = offset; }

  struct PerEvent {
    Histogram first;   // latency of the event's first delivery: the node's publish path
    Histogram last;    // latency of its last delivery: publish path plus the whole fan-out
    Histogram spread;  // last minus first: the fan-out over every subscriber (both ends)
  };
  PerEvent perEvent() const {
    PerEvent out;
    for (std::size_t i = 0; i < event_last_.size(); ++i) {
      if (event_last_[i] < 0) continue;
      out.first.record(event_first_[i]);
      out.last.record(event_last_[i]);
      out.spread.record(event_last_[i] - event_first_[i]);
    }
    return out;
  }
  /// Deliveries are also counted per 10 ms slot of receive time from `start_ns`.
  void startTimeline(int64_t start_ns, std::size_t slots) {
    timeline_start_ns_ = start_ns;
    timeline_.assign(slots, 0);
  }
  uint64_t deliveriesBetween(int64_t from_ns, int64_t to_ns) const {
    uint64_t sum = 0;
    for (std::size_t i = 0; i < timeline_.size(); ++i) {
      const int64_t slot_start = timeline_start_ns_ + static_cast<int64_t>(i) * kSlotNs;
      if (slot_start >= from_ns && slot_start + kSlotNs <= to_ns) sum += timeline_[i];
    }
    return sum;
  }
  std::vector<uint64_t> perSecond(int64_t from_ns, int64_t to_ns) const {
    std::vector<uint64_t> out;
    for (int64_t s = from_ns; s + kNsPerSec <= to_ns; s += kNsPerSec)
      out.push_back(deliveriesBetween(s, s + kNsPerSec));
    return out;
  }

  /// Sends a close frame to every open connection and closes the sockets.
  void closeAll() {
    for (auto& c : conns_) {
      if (c.fd < 0) continue;
      const std::string frame = clientFrame(0x8, std::string_view("\x03\xe8", 2), static_cast<uint32_t>(rng_.next()));
      (void)::send(c.fd, frame.data(), frame.size(), MSG_NOSIGNAL);
      ::close(c.fd);
      c.fd = -1;
    }
  }

  /// Counts the offsets an open connection never got, up to `final_offset`; call once, after drain().
  /// A connection the node closed is not owed what came after its close: that is counted apart.
  void settle(const std::vector<int64_t>& final_offset) {
    for (auto& c : conns_) {
      if (c.base_offset < 0 || c.last_offset >= final_offset[c.topic]) continue;
      const auto tail = static_cast<uint64_t>(final_offset[c.topic] - c.last_offset);
      if (c.state == State::Ready) {
        c.missing += tail;
      } else {
        after_close_ += tail;
      }
    }
  }
  uint64_t afterClose() const { return after_close_; }

  const std::vector<Conn>& conns() const { return conns_; }
  const Histogram& latency() const { return latency_; }
  uint64_t deliveries() const { return deliveries_; }
  int ready() const { return ready_; }
  int connectFailed() const { return connect_failed_; }
  int lostAfterReady() const { return lost_after_ready_; }
  const std::map<std::string, int>& failures() const { return failures_; }
  const std::map<int, int>& closeCodes() const { return close_codes_; }
  uint64_t errorFrames() const { return error_frames_; }
  uint64_t otherFrames() const { return other_frames_; }
  uint64_t otherTopicEvents() const { return other_topic_events_; }
  uint64_t unparsedEvents() const { return unparsed_events_; }
  uint64_t pingsAnswered() const { return pings_answered_; }
  const std::string& firstErrorFrame() const { return first_error_frame_; }

 private:
  static const char* stateName(State s) {
    switch (s) {
      case State::Idle:
        return "idle";
      case State::Connecting:
        return "connecting";
      case State::Handshake:
        return "waiting for the 101 answer";
      case State::Greeting:
        return "waiting for connected/subscribed";
      case State::Ready:
        return "ready";
      case State::Failed:
        return "failed";
      case State::Closed:
        return "closed";
    }
    return "?";
  }

  void startConnect(uint32_t index) {
    auto& c = conns_[index];
    ++setup_pending_;
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
      fail(c, std::string("socket: ") + std::strerror(errno));
      return;
    }
    c.state = State::Connecting;
    const auto& addr = addrs_[c.port];
    const int r = ::connect(c.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
    if (r != 0 && errno != EINPROGRESS) {
      fail(c, std::string("connect: ") + std::strerror(errno));
      return;
    }
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.u32 = index;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &ev);
  }

  void onConnected(Conn& c) {
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      fail(c, std::string("connect: ") + std::strerror(err));
      return;
    }
    auto handshake = webSocketHandshake(rng_, options_.path + "?subscriptions=" + urlEncode(topic_names_[c.topic]),
                                        options_.host, options_.subscriber_ports[c.port]);
    c.accept = std::move(handshake.accept);
    c.state = State::Handshake;
    setInterest(c, false);
    write(c, handshake.request);
  }

  void setInterest(Conn& c, bool out) {
    epoll_event ev{};
    ev.events = EPOLLIN | (out ? EPOLLOUT : 0u);
    ev.data.u32 = static_cast<uint32_t>(&c - conns_.data());
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
    c.want_out = out;
  }

  void write(Conn& c, std::string_view bytes) {
    if (c.fd < 0) return;
    std::string error;
    if (!sendOrKeep(c.fd, c.out, bytes, error)) return fail(c, error);
    if (!c.out.empty() && !c.want_out) setInterest(c, true);
  }

  void flush(Conn& c) {
    std::string error;
    if (!sendPending(c.fd, c.out, error)) return fail(c, error);
    if (c.out.empty() && c.want_out) setInterest(c, false);
  }

  void fail(Conn& c, const std::string& reason) {
    const bool in_setup = c.state == State::Connecting || c.state == State::Handshake || c.state == State::Greeting ||
                          c.state == State::Idle;
    if (c.fd >= 0) {
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
      ::close(c.fd);
      c.fd = -1;
    }
    if (in_setup) {
      --setup_pending_;
      ++connect_failed_;
      ++failures_["setup: " + reason];
      c.state = State::Failed;
    } else if (c.state == State::Ready) {
      --ready_;
      ++lost_after_ready_;
      ++failures_["after ready: " + reason];
      c.state = State::Closed;
    }
  }

  void onReadable(Conn& c) {
    const ssize_t n = ::recv(c.fd, read_buf_.data(), read_buf_.size(), 0);
    if (n == 0) {
      fail(c,
           c.close_code ? "closed by the node with code " + std::to_string(c.close_code) : "closed by the node (EOF)");
      return;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      fail(c, std::string("recv: ") + std::strerror(errno));
      return;
    }
    const int64_t recv_ns = nowNs();
    if (c.in.empty()) {
      const std::size_t used = consume(c, read_buf_.data(), static_cast<std::size_t>(n), recv_ns);
      if (c.fd >= 0 && used < static_cast<std::size_t>(n))
        c.in.assign(read_buf_.data() + used, static_cast<std::size_t>(n) - used);
    } else {
      c.in.append(read_buf_.data(), static_cast<std::size_t>(n));
      // consume() may fail the connection and clear nothing else; parse from a moved copy to keep it simple.
      std::string pending = std::move(c.in);
      c.in.clear();
      const std::size_t used = consume(c, pending.data(), pending.size(), recv_ns);
      if (c.fd >= 0 && used < pending.size()) c.in.assign(pending, used, std::string::npos);
    }
  }

  /// Parses the handshake answer and frames in [p, p+n); returns the bytes used.
  std::size_t consume(Conn& c, const char* p, std::size_t n, int64_t recv_ns) {
    std::size_t pos = 0;
    if (c.state == State::Handshake) {
      const auto answer = readHandshakeAnswer(std::string_view(p, n), c.accept);
      if (answer.outcome == HandshakeAnswer::Outcome::NeedMore) return 0;
      if (answer.outcome == HandshakeAnswer::Outcome::Refused) {
        fail(c, answer.reason);
        return n;
      }
      c.state = State::Greeting;
      pos = answer.used;
    }
    while (pos < n && c.fd >= 0) {
      const std::size_t avail = n - pos;
      const auto h = parseFrameHeader(reinterpret_cast<const unsigned char*>(p + pos), avail);
      if (!h) break;
      if (h->masked) {
        fail(c, "the node sent a masked frame");
        return n;
      }
      if (h->length > (64u << 20)) {
        fail(c, "frame larger than 64 MiB");
        return n;
      }
      if (avail < h->size + h->length) break;
      const std::string_view payload(p + pos + h->size, static_cast<std::size_t>(h->length));
      pos += h->size + static_cast<std::size_t>(h->length);
      onFrame(c, h->fin, h->opcode, payload, recv_ns);
    }
    return pos;
  }

  void onFrame(Conn& c, bool fin, uint8_t opcode, std::string_view payload, int64_t recv_ns) {
    switch (opcode) {
      case 0x9:  // ping: answer with the same payload
        ++pings_answered_;
        write(c, clientFrame(0xA, payload, static_cast<uint32_t>(rng_.next())));
        return;
      case 0xA:
        return;
      case 0x8:
        c.close_code = closeCode(payload);
        ++close_codes_[c.close_code];
        write(c, clientFrame(0x8, payload.substr(0, 2), static_cast<uint32_t>(rng_.next())));
        fail(c, "close frame " + std::to_string(c.close_code) + " " +
                    std::string(payload.size() > 2 ? payload.substr(2) : std::string_view{}));
        return;
      case 0x1:
      case 0x2:
        if (fin) {
          onMessage(c, payload, recv_ns);
        } else {
          c.fragment_opcode = opcode;
          c.fragments.assign(payload);
        }
        return;
      case 0x0:
        c.fragments.append(payload);
        if (fin) {
          const std::string whole = std::move(c.fragments);
          c.fragments.clear();
          onMessage(c, whole, recv_ns);
        }
        return;
      default:
        fail(c, "unknown opcode " + std::to_string(opcode));
    }
  }

  void onMessage(Conn& c, std::string_view m, int64_t recv_ns) {
    if (c.state == State::Greeting) {
      onSetupMessage(c, m);
      return;
    }
    const std::string_view type = findString(m, "\"type\":");
    if (type == "event") {
      onEvent(c, m, recv_ns);
    } else if (type == "error") {
      ++error_frames_;
      if (first_error_frame_.empty()) first_error_frame_ = std::string(m.substr(0, 300));
    } else {
      ++other_frames_;
    }
  }

  void onSetupMessage(Conn& c, std::string_view m) {
    nlohmann::json j = nlohmann::json::parse(m, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      fail(c, "greeting is not a JSON object: " + std::string(m.substr(0, 120)));
      return;
    }
    const std::string type = j.value("type", "");
    if (type == "connected") {
      c.got_connected = true;
    } else if (type == "subscribed" && j.value("topic", "") == topic_names_[c.topic]) {
      c.got_subscribed = true;
      c.base_offset = j.value("offset", int64_t{0});
      c.last_offset = c.base_offset;
    } else if (type == "error") {
      fail(c, "error frame " + std::string(m.substr(0, 200)));
      return;
    } else if (type == "event") {
      fail(c, "an event arrived before the subscribe confirmation");
      return;
    }
    if (c.got_connected && c.got_subscribed) {
      c.state = State::Ready;
      --setup_pending_;
      ++ready_;
    }
  }

  void trackEvent(int64_t offset, int64_t latency_ns) {
    constexpr int64_t kMaxTrackedEvents = 4'000'000;
    const int64_t index = offset - event_base_ - 1;
    if (event_base_ < 0 || index < 0 || index >= kMaxTrackedEvents) return;
    const auto i = static_cast<std::size_t>(index);
    if (i >= event_last_.size()) {
      const std::size_t size = std::max<std::size_t>(i + 1, event_last_.size() * 2);
      event_first_.resize(size, INT64_MAX);
      event_last_.resize(size, -1);
    }
    event_first_[i] = std::min(event_first_[i], latency_ns);
    event_last_[i] = std::max(event_last_[i], latency_ns);
  }

  void onEvent(Conn& c, std::string_view m, int64_t recv_ns) {
    if (findString(m, "\"topic\":") != topic_names_[c.topic]) {
      ++other_topic_events_;
      return;
    }
    const auto offset = findInt(m, "\"offset\":");
    if (!offset) {
      ++unparsed_events_;
      return;
    }
    ++c.received;
    ++deliveries_;
    if (const auto sent = findInt(m, "\"sent_ns\":"); sent && *sent >= measure_from_ns_) {
      latency_.record(recv_ns - *sent);
      if (c.topic == 0) trackEvent(*offset, recv_ns - *sent);  // per-event figures follow the first topic
    }
    if (!timeline_.empty() && recv_ns >= timeline_start_ns_) {
      const auto slot = static_cast<std::size_t>((recv_ns - timeline_start_ns_) / kSlotNs);
      if (slot < timeline_.size()) ++timeline_[slot];
    }
    const int64_t off = *offset;
    if (off == c.last_offset + 1) {
      c.last_offset = off;
    } else if (off > c.last_offset + 1) {
      c.gaps.emplace_back(c.last_offset + 1, off - 1);
      c.missing += static_cast<uint64_t>(off - c.last_offset - 1);
      c.last_offset = off;
    } else {
      // Behind the newest: a late arrival if it fills a gap, else a duplicate (or older than the subscription).
      for (std::size_t g = 0; g < c.gaps.size(); ++g) {
        auto [lo, hi] = c.gaps[g];
        if (off < lo || off > hi) continue;
        ++c.out_of_order;
        --c.missing;
        if (lo == hi) {
          c.gaps.erase(c.gaps.begin() + static_cast<std::ptrdiff_t>(g));
        } else if (off == lo) {
          c.gaps[g].first = lo + 1;
        } else if (off == hi) {
          c.gaps[g].second = hi - 1;
        } else {
          c.gaps[g].second = off - 1;
          c.gaps.emplace_back(off + 1, hi);
        }
        return;
      }
      ++c.duplicate;
    }
  }

  const Options& options_;
  std::vector<sockaddr_in> addrs_;
  std::vector<std::string> topic_names_;
  std::vector<Conn> conns_;
  Rng rng_;
  int epoll_fd_ = -1;
  std::vector<char> read_buf_;
  int setup_pending_ = 0;
  int ready_ = 0;
  int connect_failed_ = 0;
  int lost_after_ready_ = 0;
  std::map<std::string, int> failures_;
  std::map<int, int> close_codes_;
  uint64_t deliveries_ = 0;
  uint64_t after_close_ = 0;
  uint64_t error_frames_ = 0;
  uint64_t other_frames_ = 0;
  uint64_t other_topic_events_ = 0;
  uint64_t unparsed_events_ = 0;
  uint64_t pings_answered_ = 0;
  std::string first_error_frame_;
  int64_t measure_from_ns_ = 0;
  int64_t event_base_ = -1;
  std::vector<int64_t> event_first_;
  std::vector<int64_t> event_last_;
  int64_t timeline_start_ns_ = 0;
  std::vector<uint64_t> timeline_;
  Histogram latency_;
};

// ---------------------------------------------------------------------------
// Report

double us(int64_t ns) {
  return static_cast<double>(ns) / 1000.0;
}

std::string failureList(const Subscribers& subs) {
  std::string out;
  for (const auto& [reason, count] : subs.failures()) out += fmt("\n    %6d x %s", count, reason.c_str());
  return out;
}

std::string closeCodeList(const Subscribers& subs) {
  std::string out;
  for (const auto& [code, count] : subs.closeCodes()) out += fmt("%s%d:%d", out.empty() ? "" : ",", code, count);
  return out.empty() ? "none" : out;
}

int runIdle(const Options& o, Subscribers& subs) {
  const long rss_before = readRssKib(o.node_pid);
  const double cpu_before = readCpuSeconds(o.node_pid);
  const int64_t t0 = nowNs();
  const int ready = subs.connectAll();
  const int64_t t1 = nowNs();
  const long rss_connected = readRssKib(o.node_pid);
  subs.runUntil(t1 + static_cast<int64_t>(o.duration_s * 1e9));
  const long rss_after = readRssKib(o.node_pid);
  const double cpu_after = readCpuSeconds(o.node_pid);
  const long self_rss = readRssKib(static_cast<int>(getpid()));
  const bool have_rss = rss_before >= 0 && rss_after >= 0;
  const double per_conn = have_rss && ready > 0 ? static_cast<double>(rss_after - rss_before) * 1024.0 / ready : -1;
  const double setup_s = seconds(t1 - t0);

  std::printf("ws_fanout_bench mode=idle\n");
  std::printf("  target        %s:%d%s?subscriptions=%s\n", o.host.c_str(), o.port, o.path.c_str(), o.topic.c_str());
  std::printf("  connections   %d asked, %d ready after setup, %d failed in setup, %d lost while held%s\n",
              o.connections, ready + subs.lostAfterReady(), subs.connectFailed(), subs.lostAfterReady(),
              failureList(subs).c_str());
  std::printf("  setup         %.2f s (%.0f connections/s, batches of %d)\n", setup_s,
              setup_s > 0 ? (ready + subs.lostAfterReady()) / setup_s : 0.0, o.connect_batch);
  std::printf("  held          %.1f s, pings answered %" PRIu64 ", close codes %s\n", o.duration_s,
              subs.pingsAnswered(), closeCodeList(subs).c_str());
  if (have_rss) {
    std::printf("  node RSS      before %.1f MiB, after connect %.1f MiB, after hold %.1f MiB\n", rss_before / 1024.0,
                rss_connected / 1024.0, rss_after / 1024.0);
    std::printf("  RSS/conn      %.0f bytes (%.2f KiB) per connection\n", per_conn, per_conn / 1024.0);
    if (cpu_before >= 0 && cpu_after >= 0)
      std::printf("  node CPU      %.2f s during setup and hold\n", cpu_after - cpu_before);
  } else {
    std::printf("  node RSS      not measured (give --node-pid)\n");
  }
  std::printf("  loader RSS    %.1f MiB\n", self_rss / 1024.0);
  std::printf(
      "RESULT mode=idle connections=%d ready=%d connect_failed=%d lost=%d setup_s=%.2f hold_s=%.1f "
      "node_rss_before_kib=%ld node_rss_connected_kib=%ld node_rss_after_kib=%ld rss_per_conn_bytes=%.0f "
      "loader_rss_kib=%ld close_codes=%s\n",
      o.connections, subs.ready(), subs.connectFailed(), subs.lostAfterReady(), setup_s, o.duration_s, rss_before,
      rss_connected, rss_after, per_conn, self_rss, closeCodeList(subs).c_str());
  std::fflush(stdout);
  subs.closeAll();
  if (subs.connectFailed() > 0 && ready == 0) return kExitSetupFailed;
  return subs.connectFailed() > 0 || subs.lostAfterReady() > 0 ? kExitCheckFailed : kExitOk;
}

int runPublish(const Options& o, Subscribers& subs) {
  const int64_t setup_start = nowNs();
  const int ready = subs.connectAll();
  const double setup_s = seconds(nowNs() - setup_start);
  if (ready == 0) {
    std::printf("ws_fanout_bench: no connection could be set up:%s\n", failureList(subs).c_str());
    std::printf("RESULT mode=%s connections=%d ready=0 connect_failed=%d\n", modeName(o.mode), o.connections,
                subs.connectFailed());
    return kExitSetupFailed;
  }
  // Per topic: the subscribe confirmations' offsets (equal unless something was published meanwhile).
  const auto topics = static_cast<std::size_t>(o.topics);
  std::vector<int64_t> base_min(topics, INT64_MAX);
  std::vector<int64_t> base_max(topics, -1);
  std::vector<int> ready_of(topics, 0);
  std::vector<int> ready_on_port(o.subscriber_ports.size(), 0);
  for (const auto& c : subs.conns()) {
    if (c.state != State::Ready) continue;
    base_min[c.topic] = std::min(base_min[c.topic], c.base_offset);
    base_max[c.topic] = std::max(base_max[c.topic], c.base_offset);
    ++ready_of[c.topic];
    ++ready_on_port[c.port];
  }
  const auto cpuOfPids = [&o] {
    std::vector<double> out;
    for (const int pid : o.cpu_pids) out.push_back(readCpuSeconds(pid));
    return out;
  };

  const long rss_before = readRssKib(o.node_pid);
  const double node_cpu_before = readCpuSeconds(o.node_pid);
  const auto pids_cpu_before = cpuOfPids();
  const double self_cpu_before = selfCpuSeconds();
  const int64_t duration_ns = static_cast<int64_t>(o.duration_s * 1e9);
  const int64_t warmup_ns = static_cast<int64_t>(o.warmup_s * 1e9);

  std::atomic<int64_t> published{0};
  std::vector<std::unique_ptr<Publisher>> publishers;
  for (int i = 0; i < o.publishers; ++i)
    publishers.push_back(std::make_unique<Publisher>(
        o, resolve(o.host, o.publish_ports[static_cast<std::size_t>(i) % o.publish_ports.size()]), subs.delivered,
        ready, i, published));
  const int64_t run_start = nowNs();
  subs.setMeasureFrom(run_start + warmup_ns);
  subs.setEventBase(base_min[0]);
  subs.startTimeline(run_start,
                     static_cast<std::size_t>(
                         (duration_ns + static_cast<int64_t>(o.drain_timeout_s * 1e9) + 5 * kNsPerSec) / kSlotNs));
  std::vector<std::thread> publish_threads;
  for (auto& p : publishers) publish_threads.emplace_back([&p] { p->run(); });
  subs.runUntil(run_start + duration_ns);
  const int64_t publish_stop = nowNs();
  for (auto& p : publishers) p->stop.store(true);
  while (!std::all_of(publishers.begin(), publishers.end(), [](const auto& p) { return p->finished.load(); }))
    subs.pump(5);
  for (auto& t : publish_threads) t.join();
  const double node_cpu_after = readCpuSeconds(o.node_pid);
  const auto pids_cpu_after = cpuOfPids();
  const double self_cpu_after = selfCpuSeconds();
  PublisherResult pub;
  for (const auto& p : publishers) pub.add(p->result());

  std::vector<int64_t> final_offset = pub.max_offset_of;
  final_offset.resize(topics, -1);
  for (const auto& c : subs.conns()) final_offset[c.topic] = std::max(final_offset[c.topic], c.last_offset);
  const int64_t drain_start = nowNs();
  subs.drain(final_offset, drain_start + static_cast<int64_t>(o.drain_timeout_s * 1e9));
  const double drain_s = seconds(nowNs() - drain_start);
  subs.settle(final_offset);
  const long rss_after = readRssKib(o.node_pid);

  uint64_t missing = 0;
  uint64_t duplicate = 0;
  uint64_t out_of_order = 0;
  int conns_with_problems = 0;
  for (const auto& c : subs.conns()) {
    if (c.base_offset < 0) continue;
    missing += c.missing;
    duplicate += c.duplicate;
    out_of_order += c.out_of_order;
    if (c.missing + c.duplicate + c.out_of_order > 0) ++conns_with_problems;
  }
  const int64_t window_from = run_start + warmup_ns;
  const double window_s = seconds(publish_stop - window_from);
  const uint64_t window_deliveries = subs.deliveriesBetween(window_from, publish_stop);
  const double deliveries_per_s = window_s > 0 ? static_cast<double>(window_deliveries) / window_s : 0;
  const double publish_s = seconds(pub.stopped_ns - pub.started_ns);
  const double events_per_s = publish_s > 0 ? static_cast<double>(pub.events_acked) / publish_s : 0;
  uint64_t expected = 0;
  for (std::size_t t = 0; t < topics && t < pub.acked_of.size(); ++t)
    expected += pub.acked_of[t] * static_cast<uint64_t>(ready_of[t]);
  const auto per_second = subs.perSecond(run_start, publish_stop);
  const auto& lat = subs.latency();
  const auto per_event = subs.perEvent();
  const double node_cpu = node_cpu_before >= 0 && node_cpu_after >= 0 ? (node_cpu_after - node_cpu_before) : -1;
  const double self_cpu = self_cpu_after - self_cpu_before;
  const double run_s = seconds(publish_stop - run_start);

  std::printf("ws_fanout_bench mode=%s\n", modeName(o.mode));
  std::string ports;
  for (std::size_t i = 0; i < o.subscriber_ports.size(); ++i) ports += fmt("%s%d", i ? "," : "", o.subscriber_ports[i]);
  std::string per_port;
  for (std::size_t i = 0; i < o.subscriber_ports.size(); ++i)
    per_port += fmt("%s%d:%d", i ? "," : "", o.subscriber_ports[i], ready_on_port[i]);
  std::string pub_ports;
  for (std::size_t i = 0; i < o.publish_ports.size(); ++i) pub_ports += fmt("%s%d", i ? "," : "", o.publish_ports[i]);
  std::printf("  target        publish %s:%s, subscribers on port(s) %s, %s%s?subscriptions=%s%s\n", o.host.c_str(),
              pub_ports.c_str(), ports.c_str(), o.host.c_str(), o.path.c_str(), topicName(o, 0).c_str(),
              o.topics > 1 ? fmt(" (and %d more topics)", o.topics - 1).c_str() : "");
  std::printf(
      "  connections   %d asked, %d ready (setup %.2f s; per port %s), %d failed in setup, %d lost during the run%s\n",
      o.connections, ready, setup_s, per_port.c_str(), subs.connectFailed(), subs.lostAfterReady(),
      failureList(subs).c_str());
  std::printf("  publishing    publishers=%d inflight=%d each, batch=%d payload=%d B topics=%d", o.publishers,
              o.inflight, o.batch, o.payload, o.topics);
  if (o.mode == Mode::Latency) {
    std::printf(" rate=%.0f deliveries/s (%.1f events/s), max schedule lag %.2f ms, %" PRIu64 " requests >1 ms late\n",
                o.rate, o.rate * o.topics / ready, pub.max_lag_ns / 1e6, pub.late_requests);
  } else {
    std::printf(" window=%d%s\n", o.window, o.window == 0 ? " (open loop)" : " events/subscriber");
  }
  std::printf("  published     %" PRIu64 " events in %" PRIu64 " requests over %.2f s (%.0f events/s), offsets %" PRId64
              "..%" PRId64 ", http errors %" PRIu64 ", unanswered %" PRIu64 ", reconnects %" PRIu64 "\n",
              pub.events_acked, pub.responses_ok, publish_s, events_per_s, pub.first_offset, pub.max_offset,
              pub.responses_error, pub.requests_lost, pub.reconnects);
  if (!pub.first_error.empty()) std::printf("  first error   %s\n", pub.first_error.c_str());
  std::printf("  deliveries    %" PRIu64 " received of %" PRIu64
              " expected; steady window %.1f..%.1f s: %.0f deliveries/s\n",
              subs.deliveries(), expected, o.warmup_s, run_s, deliveries_per_s);
  std::string timeline;
  for (const auto v : per_second) timeline += fmt(" %.0fk", static_cast<double>(v) / 1000.0);
  std::printf("  per second   %s\n", timeline.c_str());
  std::printf("  latency       p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us (%" PRIu64
              " events sent in the steady window, publish->receive)\n",
              us(lat.percentile(0.50)), us(lat.percentile(0.99)), us(lat.percentile(0.999)), us(lat.max()),
              lat.count());
  std::printf(
      "  per event     first delivery p50 %.1f us, p99 %.1f us; last delivery p50 %.1f us, p99 %.1f us; "
      "fan-out spread p50 %.1f us, p99 %.1f us (%" PRIu64 " events)\n",
      us(per_event.first.percentile(0.5)), us(per_event.first.percentile(0.99)), us(per_event.last.percentile(0.5)),
      us(per_event.last.percentile(0.99)), us(per_event.spread.percentile(0.5)), us(per_event.spread.percentile(0.99)),
      per_event.first.count());
  std::printf("  checks        missing %" PRIu64 ", duplicate %" PRIu64 ", out of order %" PRIu64
              " (%d connections affected), not delivered after a close %" PRIu64
              ", drain %.2f s; close codes %s; error frames %" PRIu64 "%s%s\n",
              missing, duplicate, out_of_order, conns_with_problems, subs.afterClose(), drain_s,
              closeCodeList(subs).c_str(), subs.errorFrames(),
              subs.firstErrorFrame().empty() ? "" : " first: ", subs.firstErrorFrame().c_str());
  if (subs.otherTopicEvents() + subs.unparsedEvents() + subs.otherFrames() > 0)
    std::printf("  unexpected    events of other topics %" PRIu64 ", events without offset %" PRIu64
                ", other frames %" PRIu64 "\n",
                subs.otherTopicEvents(), subs.unparsedEvents(), subs.otherFrames());
  for (std::size_t t = 0; t < topics; ++t) {
    if (base_min[t] != base_max[t] && base_max[t] >= 0)
      std::printf("  note          %s: subscribe confirmations gave different offsets: %" PRId64 "..%" PRId64 "\n",
                  topicName(o, static_cast<int>(t)).c_str(), base_min[t], base_max[t]);
  }
  // CPU time per delivery over the publishing time: comparable across machines and core sharing.
  const uint64_t run_deliveries = subs.deliveriesBetween(run_start, publish_stop);
  const double node_ns_per_delivery = node_cpu >= 0 && run_deliveries > 0 ? node_cpu * 1e9 / run_deliveries : -1;
  std::printf(
      "  cpu           node %s, loader %.0f%% of one core over %.1f s (node and loader share %ld cores); "
      "node %.0f ns CPU per delivery\n",
      node_cpu >= 0 ? fmt("%.0f%%", 100 * node_cpu / run_s).c_str() : "n/a", 100 * self_cpu / run_s, run_s,
      sysconf(_SC_NPROCESSORS_ONLN), node_ns_per_delivery);
  std::string pids_cpu;
  for (std::size_t i = 0; i < o.cpu_pids.size(); ++i) {
    const double used = pids_cpu_before[i] >= 0 && pids_cpu_after[i] >= 0 ? pids_cpu_after[i] - pids_cpu_before[i] : -1;
    pids_cpu += fmt("%s%d:%.3f", i ? "," : "", o.cpu_pids[i], used);
    std::printf("  cpu pid %-6d %.3f s (%.0f%% of one core)\n", o.cpu_pids[i], used,
                used >= 0 ? 100 * used / run_s : -1.0);
  }
  if (rss_before >= 0)
    std::printf("  node RSS      %.1f MiB before, %.1f MiB after\n", rss_before / 1024.0, rss_after / 1024.0);

  std::printf(
      "RESULT mode=%s connections=%d ready=%d connect_failed=%d lost=%d duration_s=%.1f warmup_s=%.1f inflight=%d "
      "batch=%d payload=%d window=%d rate=%.0f published=%" PRIu64 " publish_events_per_s=%.0f http_errors=%" PRIu64
      " unanswered=%" PRIu64 " deliveries=%" PRIu64 " expected=%" PRIu64
      " deliveries_per_s=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f latency_samples=%" PRIu64
      " first_p50_us=%.1f first_p99_us=%.1f last_p50_us=%.1f last_p99_us=%.1f"
      " missing=%" PRIu64 " duplicate=%" PRIu64 " out_of_order=%" PRIu64 " undelivered_after_close=%" PRIu64
      " close_codes=%s node_cpu_pct=%.0f node_cpu_ns_per_delivery=%.0f"
      " loader_cpu_pct=%.0f node_rss_kib=%ld publishers=%d topics=%d subscriber_ports=%s publish_ports=%s run_s=%.3f"
      " cpu_pids=%s\n",
      modeName(o.mode), o.connections, ready, subs.connectFailed(), subs.lostAfterReady(), o.duration_s, o.warmup_s,
      o.inflight, o.batch, o.payload, o.window, o.mode == Mode::Latency ? o.rate : 0.0, pub.events_acked, events_per_s,
      pub.responses_error, pub.requests_lost, subs.deliveries(), expected, deliveries_per_s, us(lat.percentile(0.50)),
      us(lat.percentile(0.99)), us(lat.percentile(0.999)), us(lat.max()), lat.count(),
      us(per_event.first.percentile(0.5)), us(per_event.first.percentile(0.99)), us(per_event.last.percentile(0.5)),
      us(per_event.last.percentile(0.99)), missing, duplicate, out_of_order, subs.afterClose(),
      closeCodeList(subs).c_str(), node_cpu >= 0 ? 100 * node_cpu / run_s : -1.0, node_ns_per_delivery,
      100 * self_cpu / run_s, rss_after, o.publishers, o.topics, ports.c_str(), pub_ports.c_str(), run_s,
      pids_cpu.empty() ? "none" : pids_cpu.c_str());
  std::fflush(stdout);
  subs.closeAll();

  const bool broken = missing + duplicate + out_of_order > 0 || subs.lostAfterReady() > 0 || subs.connectFailed() > 0 ||
                      pub.events_acked == 0 || pub.responses_error > 0 || pub.requests_lost > 0;
  return broken ? kExitCheckFailed : kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<Options> options;
  try {
    options = parseOptions(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ws_fanout_bench: %s\n%s", e.what(), kUsage);
    return kExitUsage;
  }
  signal(SIGPIPE, SIG_IGN);
  try {
    raiseFileLimit(options->connections + 64);
    Subscribers subs(*options);
    if (options->mode == Mode::Idle) return runIdle(*options, subs);
    return runPublish(*options, subs);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ws_fanout_bench: %s\n", e.what());
    return kExitSetupFailed;
  }
}
