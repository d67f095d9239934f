// ws_soak: the load side of the soak run (bench/run_soak.sh, issue 18).
//
// Holds N WebSockets on /ws, each subscribed to one of K topics, for a set
// time, while it churns C connections a second (closes them, most with a
// close frame, some with a bare FIN or a reset, and opens them again) and
// publishes R events a second through POST /api/v1/publish on one keep-alive
// connection. Everything runs on one thread and one epoll loop: the point is
// to hold the node at a steady load for a long time, not to find its peak.
//
// What it checks, because a leak test that does not notice a stall proves
// nothing: every connection gets its topic's offsets one after another from
// its subscribe confirmation on (no gap, no repeat), no connection goes
// `--stall` seconds without an event while it is open, the node closes no
// connection on its own, and every connection that is open at the end holds
// the last offset the publisher was told about.
//
// Several source addresses (127.0.1.x by default) keep each below the node's
// per-address cap, so the churn also exercises that bookkeeping.
//
// It runs as its own process: the open-file hard limit (20,000) does not fit
// 10,000 connections on both ends in one process.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bench_support.hpp"

namespace {

using namespace eventnode::bench;

constexpr uint32_t kPublisherTag = UINT32_MAX;
constexpr int64_t kRetryDelayNs = kNsPerSec;  // a failed connect is tried again this much later

double ms(int64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

struct Options {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string path = "/ws";
  int connections = 10000;
  int topics = 100;
  std::string topic_prefix = "soak";
  double duration_s = 600;
  double churn = 100;  // connections closed and opened again per second
  double rate = 1000;  // events published per second
  int payload = 64;    // bytes of padding in each event's data
  int reset_pct = 10;  // of the churned closes: TCP reset, no close frame
  int fin_pct = 10;    // of the churned closes: FIN, no close frame
  std::string api_key = "benchkey-0123456789";
  std::string source_base = "127.0.1.1";
  int sources = 20;
  int inflight = 64;
  int connect_batch = 500;
  double setup_timeout_s = 180;
  double connect_timeout_s = 15;
  double close_timeout_s = 30;
  double stall_s = 10;
  double report_s = 10;
};

constexpr const char* kUsage = R"(usage: ws_soak [options]
  --host H              node address (default 127.0.0.1)
  --port P              node port (default 8080)
  --path /ws            WebSocket path (default /ws)
  --connections N       WebSockets held (default 10000)
  --topics K            topics <prefix>-0..K-1; connection i joins topic i % K (default 100)
  --topic-prefix T      (default soak)
  --duration S          seconds of churn and publishing after every connection is up (default 600)
  --churn C             connections closed and reopened per second (default 100)
  --reset-pct X         percent of churned closes done with a TCP reset (default 10)
  --fin-pct X           percent of churned closes done with a bare FIN, no close frame (default 10);
                        the rest send a close frame and wait for the node's
  --rate R              events published per second, one per request, round-robin over the topics (default 1000)
  --payload BYTES       padding in each event (default 64)
  --api-key KEY         X-API-Key for publishing (default benchkey-0123456789)
  --sources S           source addresses to connect from, S consecutive ones from --source-base (default 20);
                        keep N/S well below server.limits.max_connections_per_ip
  --source-base A       first source address (default 127.0.1.1)
  --inflight K          pipelined publish requests at most (default 64)
  --connect-batch B     connections being set up at once during the initial ramp (default 500)
  --setup-timeout S     the initial ramp must finish within this (default 180)
  --connect-timeout S   one connection's connect + upgrade + subscribe (default 15)
  --close-timeout S     waiting for the node's close frame after ours (default 30: on a starved machine
                        the answer can take seconds; past this it is not coming)
  --stall S             an open connection without an event this long is a stall (default 10)
  --report S            seconds between progress lines (default 10)
output: a progress line every --report seconds, then one RESULT line of key=value pairs
exit: 0 ok, 1 a check failed (gap, repeat, stall, connection lost, publish error, no events), 2 usage, 3 setup failed
)";

Options parseOptions(int argc, char** argv) {
  Options o;
  FlagReader args(argc, argv, kUsage);
  while (args.next()) {
    const std::string& flag = args.flag();
    const auto integer = [&](int min, int max) {
      const std::string v = args.value();
      int out = 0;
      const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
      if (ec != std::errc{} || end != v.data() + v.size() || out < min || out > max)
        throw std::invalid_argument(flag + " needs an integer in " + std::to_string(min) + ".." + std::to_string(max) +
                                    ", got '" + v + "'");
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
      o.port = integer(1, 65535);
    } else if (flag == "--path") {
      o.path = args.value();
    } else if (flag == "--connections") {
      o.connections = integer(1, 19000);
    } else if (flag == "--topics") {
      o.topics = integer(1, 65535);
    } else if (flag == "--topic-prefix") {
      o.topic_prefix = args.value();
    } else if (flag == "--duration") {
      o.duration_s = real(1);
    } else if (flag == "--churn") {
      o.churn = real(0);
    } else if (flag == "--reset-pct") {
      o.reset_pct = integer(0, 100);
    } else if (flag == "--fin-pct") {
      o.fin_pct = integer(0, 100);
    } else if (flag == "--rate") {
      o.rate = real(0.1);
    } else if (flag == "--payload") {
      o.payload = integer(0, 1 << 20);
    } else if (flag == "--api-key") {
      o.api_key = args.value();
    } else if (flag == "--sources") {
      o.sources = integer(1, 250);
    } else if (flag == "--source-base") {
      o.source_base = args.value();
    } else if (flag == "--inflight") {
      o.inflight = integer(1, 100000);
    } else if (flag == "--connect-batch") {
      o.connect_batch = integer(1, 100000);
    } else if (flag == "--setup-timeout") {
      o.setup_timeout_s = real(1);
    } else if (flag == "--connect-timeout") {
      o.connect_timeout_s = real(0.1);
    } else if (flag == "--close-timeout") {
      o.close_timeout_s = real(0.1);
    } else if (flag == "--stall") {
      o.stall_s = real(1);
    } else if (flag == "--report") {
      o.report_s = real(1);
    } else {
      throw std::invalid_argument("unknown argument '" + args.raw() + "' (see --help)");
    }
  }
  if (o.reset_pct + o.fin_pct > 100) throw std::invalid_argument("--reset-pct plus --fin-pct exceeds 100");
  if (o.topics > o.connections) throw std::invalid_argument("--topics must not exceed --connections");
  return o;
}

// ---------------------------------------------------------------------------
// Counters: what the RESULT line reports; result() says which of them fail the run.

struct Counters {
  uint64_t connects_started = 0;
  uint64_t connects_ready = 0;
  uint64_t setup_failures = 0;
  uint64_t closes_clean = 0;
  uint64_t closes_fin = 0;
  uint64_t closes_reset = 0;
  uint64_t close_timeouts = 0;        // the node did not answer a churned close frame in time
  uint64_t final_close_timeouts = 0;  // the same for the close of everything at the end
  uint64_t churn_skipped = 0;         // no open connection found to churn
  uint64_t lost = 0;                  // closed by the node while open and not asked to
  uint64_t events = 0;
  uint64_t missing = 0;         // offsets skipped inside one connection's life
  uint64_t repeated = 0;        // offsets at or below one already received
  uint64_t missing_at_end = 0;  // open at the end but short of the last acknowledged offset
  uint64_t stalls = 0;
  uint64_t error_frames = 0;
  uint64_t odd_frames = 0;  // fragments, masked frames, events of another topic, unparsable events
  uint64_t pings = 0;
  uint64_t published_sent = 0;
  uint64_t published_ok = 0;
  uint64_t publish_errors = 0;
  uint64_t publish_lost = 0;  // requests the publishing connection took down with it
  uint64_t publish_reconnects = 0;
  int64_t publish_max_behind = 0;           // most events the publisher was behind its schedule
  std::map<std::string, uint64_t> reasons;  // setup failures and losses, by reason
  std::string first_error;
};

// ---------------------------------------------------------------------------
// One connection slot: the socket in it comes and goes with the churn.

enum class Phase : uint8_t { Down, Connecting, Handshake, Greeting, Open, Closing };

struct Slot {
  int fd = -1;
  Phase phase = Phase::Down;
  bool got_connected = false;
  bool got_subscribed = false;
  bool want_out = false;
  bool stalled = false;
  uint16_t topic = 0;
  uint16_t source = 0;
  int64_t deadline_ns = 0;       // setup or the close handshake must be done by then
  int64_t closing_since_ns = 0;  // when our close frame went out
  int64_t last_event_ns = 0;     // or when the connection opened
  int64_t last_offset = -1;
  std::string accept;
  std::string in;
  std::string out;
};

class Soak {
 public:
  explicit Soak(const Options& o)
      : o_(o),
        node_(resolve(o.host, o.port)),
        slots_(static_cast<std::size_t>(o.connections)),
        topic_offset_(static_cast<std::size_t>(o.topics), -1),
        rng_(static_cast<uint64_t>(nowNs())) {
    sockaddr_in base = resolve(o.source_base, 0);
    for (int i = 0; i < o.sources; ++i) {
      sockaddr_in a = base;
      a.sin_addr.s_addr = htonl(ntohl(base.sin_addr.s_addr) + static_cast<uint32_t>(i));
      sources_.push_back(a);
    }
    for (int t = 0; t < o.topics; ++t) topic_names_.push_back(o.topic_prefix + "-" + std::to_string(t));
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      slots_[i].topic = static_cast<uint16_t>(i % static_cast<std::size_t>(o.topics));
      slots_[i].source = static_cast<uint16_t>(i % sources_.size());
    }
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
    read_buf_.resize(256 * 1024);
  }
  ~Soak() {
    for (auto& s : slots_)
      if (s.fd >= 0) ::close(s.fd);
    if (pub_fd_ >= 0) ::close(pub_fd_);
    ::close(epoll_fd_);
  }

  int run() {
    // 1. Ramp up: every slot connects, connect_batch at a time.
    const int64_t setup_start = nowNs();
    for (uint32_t i = 0; i < slots_.size(); ++i) queueConnect(i, setup_start);
    const int64_t setup_deadline = setup_start + static_cast<int64_t>(o_.setup_timeout_s * 1e9);
    while (open_ < static_cast<int>(slots_.size()) && nowNs() < setup_deadline) step(o_.connect_batch);
    const double setup_s = seconds(nowNs() - setup_start);
    std::printf("ws_soak: %d of %d connections open after %.1f s (%" PRIu64 " setup failures so far)\n", open_,
                o_.connections, setup_s, c_.setup_failures);
    std::fflush(stdout);
    if (open_ < o_.connections) {
      result(setup_s, 0);
      return kExitSetupFailed;
    }

    // 2. The soak: publish and churn for the duration.
    connectPublisher();
    run_start_ = nowNs();
    const int64_t run_end = run_start_ + static_cast<int64_t>(o_.duration_s * 1e9);
    int64_t next_report = run_start_ + static_cast<int64_t>(o_.report_s * 1e9);
    uint64_t events_at_report = 0;
    uint64_t published_at_report = 0;
    int64_t last_report = run_start_;
    while (nowNs() < run_end) {
      publishDue();
      churnDue();
      step(std::max(64, static_cast<int>(o_.churn * o_.connect_timeout_s)));
      if (const int64_t now = nowNs(); now >= next_report) {
        const double dt = seconds(now - last_report);
        std::printf("progress t=%.0f open=%d connects=%" PRIu64 " events_per_s=%.0f published_per_s=%.0f lost=%" PRIu64
                    " stalls=%" PRIu64 " missing=%" PRIu64 " setup_failures=%" PRIu64 " publish_errors=%" PRIu64 "\n",
                    seconds(now - run_start_), open_, c_.connects_ready,
                    static_cast<double>(c_.events - events_at_report) / dt,
                    static_cast<double>(c_.published_ok - published_at_report) / dt, c_.lost, c_.stalls, c_.missing,
                    c_.setup_failures, c_.publish_errors);
        std::fflush(stdout);
        events_at_report = c_.events;
        published_at_report = c_.published_ok;
        last_report = now;
        next_report += static_cast<int64_t>(o_.report_s * 1e9);
      }
    }
    const double run_s = seconds(nowNs() - run_start_);
    std::printf("ws_soak: soak over after %.1f s; draining, then closing every connection\n", run_s);
    std::fflush(stdout);

    // 3. Stop publishing, collect the last answers and deliveries, then check every open connection's tail.
    stop_publishing_ = true;
    const int64_t drain_end = nowNs() + 10 * kNsPerSec;
    while (nowNs() < drain_end && pub_fd_ >= 0 && !pub_inflight_.empty()) step(0);
    const int64_t settle_end = nowNs() + 5 * kNsPerSec;
    while (nowNs() < settle_end && !allCaughtUp()) step(0);
    for (const auto& s : slots_) {
      if (s.phase != Phase::Open) continue;
      if (s.last_offset < topic_offset_[s.topic])
        c_.missing_at_end += static_cast<uint64_t>(topic_offset_[s.topic] - s.last_offset);
    }
    closeAll();
    return result(setup_s, run_s);
  }

 private:
  // --- the loop ------------------------------------------------------------

  /// One pass: start due connects (at most `max_setup` in progress), wait for I/O up to 1 ms, and once a
  /// second look for timeouts and stalls.
  void step(int max_setup) {
    const int64_t now = nowNs();
    while (!to_connect_.empty() && to_connect_.top().first <= now && setting_up_ < max_setup) {
      const uint32_t i = to_connect_.top().second;
      to_connect_.pop();
      startConnect(i, now);
    }
    epoll_event events[512];
    const int n = epoll_wait(epoll_fd_, events, 512, 1);
    for (int k = 0; k < n; ++k) {
      const uint32_t tag = events[k].data.u32;
      if (tag == kPublisherTag) {
        onPublisherEvent(events[k].events);
        continue;
      }
      auto& s = slots_[tag];
      if (s.fd < 0) continue;
      if (s.phase == Phase::Connecting) {
        onConnected(tag);
        continue;
      }
      if ((events[k].events & EPOLLOUT) != 0) flush(tag);
      if (s.fd >= 0 && (events[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) onReadable(tag);
    }
    if (const int64_t t = nowNs(); t >= next_sweep_) {
      sweep(t);
      next_sweep_ = t + kNsPerSec;
    }
  }

  /// Timeouts of setups and close handshakes, and stalls of open connections.
  void sweep(int64_t now) {
    const auto stall_ns = static_cast<int64_t>(o_.stall_s * 1e9);
    for (uint32_t i = 0; i < slots_.size(); ++i) {
      auto& s = slots_[i];
      // After this process was descheduled, what the node sent may still wait
      // behind other sockets' events in epoll: read it before blaming the node.
      const bool overdue = s.phase == Phase::Open ? now - s.last_event_ns > stall_ns : now > s.deadline_ns;
      if (overdue && s.fd >= 0 && s.phase != Phase::Down && s.phase != Phase::Connecting) onReadable(i);
      switch (s.phase) {
        case Phase::Connecting:
        case Phase::Handshake:
        case Phase::Greeting:
          if (now > s.deadline_ns) fail(i, "timeout while setting up");
          break;
        case Phase::Closing:
          if (now > s.deadline_ns) {
            ++(final_close_ ? c_.final_close_timeouts : c_.close_timeouts);
            down(i, now);
          }
          break;
        case Phase::Open:
          // Only while events flow: before the first publish and after the last, silence is expected.
          if (!s.stalled && run_start_ > 0 && !stop_publishing_ && now - s.last_event_ns > stall_ns &&
              now - run_start_ > stall_ns) {
            s.stalled = true;
            ++c_.stalls;
            note(fmt("connection %u on %s: no event for %.0f s", i, topic_names_[s.topic].c_str(), o_.stall_s));
          }
          break;
        case Phase::Down:
          break;
      }
    }
  }

  bool allCaughtUp() const {
    return std::all_of(slots_.begin(), slots_.end(), [&](const Slot& s) {
      return s.phase != Phase::Open || s.last_offset >= topic_offset_[s.topic];
    });
  }

  void note(const std::string& what) {
    if (c_.first_error.empty()) c_.first_error = what;
  }

  // --- connection set-up ---------------------------------------------------

  void queueConnect(uint32_t i, int64_t at) { to_connect_.emplace(at, i); }

  void startConnect(uint32_t i, int64_t now) {
    auto& s = slots_[i];
    ++c_.connects_started;
    ++setting_up_;
    s.phase = Phase::Connecting;
    s.deadline_ns = now + static_cast<int64_t>(o_.connect_timeout_s * 1e9);
    s.got_connected = s.got_subscribed = s.stalled = false;
    s.in.clear();
    s.out.clear();
    s.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s.fd < 0) {
      fail(i, std::string("socket: ") + std::strerror(errno));
      return;
    }
    // The port is chosen at connect(), per destination, so 20 sources do not run out of ports at bind().
    const int one = 1;
    setsockopt(s.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    const auto& src = sources_[s.source];
    if (::bind(s.fd, reinterpret_cast<const sockaddr*>(&src), sizeof(src)) != 0) {
      fail(i, std::string("bind: ") + std::strerror(errno));
      return;
    }
    if (::connect(s.fd, reinterpret_cast<const sockaddr*>(&node_), sizeof(node_)) != 0 && errno != EINPROGRESS) {
      fail(i, std::string("connect: ") + std::strerror(errno));
      return;
    }
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.u32 = i;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, s.fd, &ev);
  }

  void onConnected(uint32_t i) {
    auto& s = slots_[i];
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      fail(i, std::string("connect: ") + std::strerror(err));
      return;
    }
    auto handshake = webSocketHandshake(rng_, o_.path + "?subscriptions=" + urlEncode(topic_names_[s.topic]), o_.host,
                                        o_.port);
    s.accept = std::move(handshake.accept);
    s.phase = Phase::Handshake;
    setInterest(i, false);
    write(i, handshake.request);
  }

  void onOpen(uint32_t i) {
    auto& s = slots_[i];
    s.phase = Phase::Open;
    s.last_event_ns = nowNs();
    --setting_up_;
    ++open_;
    ++c_.connects_ready;
  }

  // --- closing ---------------------------------------------------------------

  /// Closes the socket; the slot connects again `delay_ns` from now.
  void down(uint32_t i, int64_t now, int64_t delay_ns = 0) {
    auto& s = slots_[i];
    if (s.fd >= 0) {
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, s.fd, nullptr);
      ::close(s.fd);
      s.fd = -1;
    }
    if (s.phase == Phase::Open) --open_;
    if (s.phase == Phase::Connecting || s.phase == Phase::Handshake || s.phase == Phase::Greeting) --setting_up_;
    s.phase = Phase::Down;
    if (!final_close_) queueConnect(i, now + delay_ns);
  }

  /// Something went wrong that we did not ask for: counted by reason, tried again a second later.
  void fail(uint32_t i, const std::string& reason) {
    auto& s = slots_[i];
    if (s.phase == Phase::Open) {
      ++c_.lost;
      ++c_.reasons["lost: " + reason];
      note("connection lost: " + reason);
    } else if (s.phase == Phase::Closing) {
      // The node answered our close by closing: that is how a close handshake ends.
      close_wait_.record(nowNs() - s.closing_since_ns);
      down(i, nowNs());
      return;
    } else {
      ++c_.setup_failures;
      ++c_.reasons["setup: " + reason];
    }
    down(i, nowNs(), kRetryDelayNs);
  }

  void churnDue() {
    if (o_.churn <= 0) return;
    const auto due = static_cast<uint64_t>(o_.churn * seconds(nowNs() - run_start_));
    while (churned_ < due) {
      ++churned_;
      // A random open slot: a few probes find one, since nearly all are open.
      std::optional<uint32_t> pick;
      for (int probe = 0; probe < 32 && !pick; ++probe) {
        const auto i = static_cast<uint32_t>(rng_.next() % slots_.size());
        if (slots_[i].phase == Phase::Open) pick = i;
      }
      if (!pick) {
        ++c_.churn_skipped;
        continue;
      }
      churn(*pick);
    }
  }

  void churn(uint32_t i) {
    auto& s = slots_[i];
    const auto roll = static_cast<int>(rng_.next() % 100);
    const int64_t now = nowNs();
    if (roll < o_.reset_pct) {
      // SO_LINGER 0: close() sends a reset, as a client whose process died mid-stream would.
      const linger hard{1, 0};
      setsockopt(s.fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
      ++c_.closes_reset;
      down(i, now);
    } else if (roll < o_.reset_pct + o_.fin_pct) {
      ++c_.closes_fin;
      down(i, now);
    } else {
      ++c_.closes_clean;
      write(i, clientFrame(0x8, std::string_view("\x03\xe8", 2), static_cast<uint32_t>(rng_.next())));
      if (s.fd < 0) return;  // the write failed and took the connection with it
      --open_;
      s.phase = Phase::Closing;
      s.closing_since_ns = now;
      s.deadline_ns = now + static_cast<int64_t>(o_.close_timeout_s * 1e9);
    }
  }

  /// At the end: a close frame to every open connection, then wait for the node's answers.
  void closeAll() {
    final_close_ = true;
    churn_close_wait_ = close_wait_;
    const int64_t now = nowNs();
    for (uint32_t i = 0; i < slots_.size(); ++i) {
      auto& s = slots_[i];
      if (s.phase != Phase::Open) {
        if (s.fd >= 0) down(i, now);
        continue;
      }
      write(i, clientFrame(0x8, std::string_view("\x03\xe8", 2), static_cast<uint32_t>(rng_.next())));
      if (s.fd < 0) continue;
      --open_;
      s.phase = Phase::Closing;
      s.closing_since_ns = now;
      s.deadline_ns = now + static_cast<int64_t>(o_.close_timeout_s * 1e9);
    }
    const int64_t end = now + static_cast<int64_t>(o_.close_timeout_s * 1e9) + kNsPerSec;
    while (nowNs() < end &&
           std::any_of(slots_.begin(), slots_.end(), [](const Slot& s) { return s.phase == Phase::Closing; }))
      step(0);
    for (uint32_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].phase == Phase::Closing) ++c_.final_close_timeouts;
      if (slots_[i].fd >= 0) down(i, nowNs());
    }
  }

  // --- bytes in and out ------------------------------------------------------

  void setInterest(uint32_t i, bool out) {
    auto& s = slots_[i];
    epoll_event ev{};
    ev.events = EPOLLIN | (out ? EPOLLOUT : 0u);
    ev.data.u32 = i;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, s.fd, &ev);
    s.want_out = out;
  }

  void write(uint32_t i, std::string_view bytes) {
    auto& s = slots_[i];
    if (s.fd < 0) return;
    std::string error;
    if (!sendOrKeep(s.fd, s.out, bytes, error)) return fail(i, error);
    if (!s.out.empty() && !s.want_out) setInterest(i, true);
  }

  void flush(uint32_t i) {
    auto& s = slots_[i];
    std::string error;
    if (!sendPending(s.fd, s.out, error)) return fail(i, error);
    if (s.out.empty() && s.want_out) setInterest(i, false);
  }

  void onReadable(uint32_t i) {
    auto& s = slots_[i];
    const ssize_t n = ::recv(s.fd, read_buf_.data(), read_buf_.size(), 0);
    if (n == 0) {
      fail(i, "closed by the node (EOF)");
      return;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      fail(i, std::string("recv: ") + std::strerror(errno));
      return;
    }
    s.in.append(read_buf_.data(), static_cast<std::size_t>(n));
    std::size_t pos = 0;
    if (s.phase == Phase::Handshake) {
      const auto answer = readHandshakeAnswer(s.in, s.accept);
      if (answer.outcome == HandshakeAnswer::Outcome::NeedMore) return;
      if (answer.outcome == HandshakeAnswer::Outcome::Refused) return fail(i, answer.reason);
      s.phase = Phase::Greeting;
      pos = answer.used;
    }
    const int64_t now = nowNs();
    while (s.fd >= 0 && pos < s.in.size()) {
      const std::size_t avail = s.in.size() - pos;
      const auto h = parseFrameHeader(reinterpret_cast<const unsigned char*>(s.in.data() + pos), avail);
      if (!h || avail < h->size + h->length) break;
      const std::string_view payload(s.in.data() + pos + h->size, static_cast<std::size_t>(h->length));
      pos += h->size + static_cast<std::size_t>(h->length);
      if (h->masked || !h->fin) {
        ++c_.odd_frames;
        note("the node sent a masked or fragmented frame");
        continue;
      }
      onFrame(i, h->opcode, payload, now);
    }
    if (s.fd >= 0) s.in.erase(0, pos);
  }

  void onFrame(uint32_t i, uint8_t opcode, std::string_view payload, int64_t now) {
    auto& s = slots_[i];
    switch (opcode) {
      case 0x9:
        ++c_.pings;
        write(i, clientFrame(0xA, payload, static_cast<uint32_t>(rng_.next())));
        return;
      case 0xA:
        return;
      case 0x8:
        if (s.phase == Phase::Closing) {
          close_wait_.record(now - s.closing_since_ns);
          down(i, now);  // the close handshake is complete
        } else {
          // The node closed on its own: answer, then count it.
          write(i, clientFrame(0x8, payload.substr(0, 2), static_cast<uint32_t>(rng_.next())));
          fail(i, "close frame " + std::to_string(closeCode(payload)));
        }
        return;
      case 0x1:
        onText(i, payload, now);
        return;
      default:
        ++c_.odd_frames;
        note("unexpected opcode " + std::to_string(opcode));
    }
  }

  void onText(uint32_t i, std::string_view m, int64_t now) {
    auto& s = slots_[i];
    const std::string_view type = findString(m, "\"type\":");
    if (s.phase == Phase::Greeting) {
      if (type == "connected") {
        s.got_connected = true;
      } else if (type == "subscribed" && findString(m, "\"topic\":") == topic_names_[s.topic]) {
        s.got_subscribed = true;
        s.last_offset = findInt(m, "\"offset\":").value_or(0);
      } else if (type == "error") {
        fail(i, "error frame " + std::string(m.substr(0, 200)));
        return;
      }
      if (s.got_connected && s.got_subscribed) onOpen(i);
      return;
    }
    if (type == "error") {
      ++c_.error_frames;
      note("error frame: " + std::string(m.substr(0, 200)));
      return;
    }
    if (type != "event") return;  // e.g. a re-sent subscribed after an epoch reset: nothing the soak does
    const auto offset = findInt(m, "\"offset\":");
    if (findString(m, "\"topic\":") != topic_names_[s.topic] || !offset) {
      ++c_.odd_frames;
      note("an event of another topic or without an offset: " + std::string(m.substr(0, 200)));
      return;
    }
    if (s.phase != Phase::Open) return;  // in flight while we close: not counted either way
    ++c_.events;
    s.last_event_ns = now;
    if (const auto sent = findInt(m, "\"sent_ns\":")) latency_.record(now - *sent);
    s.stalled = false;
    if (*offset == s.last_offset + 1) {
      s.last_offset = *offset;
    } else if (*offset > s.last_offset + 1) {
      c_.missing += static_cast<uint64_t>(*offset - s.last_offset - 1);
      note(fmt("connection %u on %s: offset %" PRId64 " after %" PRId64, i, topic_names_[s.topic].c_str(), *offset,
               s.last_offset));
      s.last_offset = *offset;
    } else {
      ++c_.repeated;
      note(fmt("connection %u on %s: offset %" PRId64 " again (last %" PRId64 ")", i, topic_names_[s.topic].c_str(),
               *offset, s.last_offset));
    }
  }

  // --- the publisher: one keep-alive connection, pipelined, paced -------------

  void connectPublisher() {
    if (pub_fd_ >= 0) {
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, pub_fd_, nullptr);
      ::close(pub_fd_);
    }
    pub_out_.clear();
    pub_in_.clear();
    c_.publish_lost += pub_inflight_.size();
    pub_inflight_.clear();
    pub_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (pub_fd_ < 0 || ::connect(pub_fd_, reinterpret_cast<const sockaddr*>(&node_), sizeof(node_)) != 0)
      throw std::runtime_error(std::string("publisher connect: ") + std::strerror(errno));
    const int one = 1;
    setsockopt(pub_fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(pub_fd_, F_SETFL, fcntl(pub_fd_, F_GETFL) | O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = kPublisherTag;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, pub_fd_, &ev);
  }

  void publishDue() {
    if (stop_publishing_) return;
    const auto due = static_cast<uint64_t>(o_.rate * seconds(nowNs() - run_start_));
    c_.publish_max_behind = std::max(c_.publish_max_behind, static_cast<int64_t>(due - c_.published_sent));
    bool wrote = false;
    while (c_.published_sent < due && static_cast<int>(pub_inflight_.size()) < o_.inflight) {
      const auto topic = static_cast<uint16_t>(c_.published_sent % static_cast<uint64_t>(o_.topics));
      char data[64];
      const int n = std::snprintf(data, sizeof(data), "{\"sent_ns\":%" PRId64 ",\"seq\":%" PRIu64 ",\"pad\":\"",
                                  nowNs(), c_.published_sent);
      std::string body = "{\"topic\":\"" + topic_names_[topic] + "\",\"data\":";
      body.append(data, static_cast<std::size_t>(n));
      body.append(static_cast<std::size_t>(o_.payload), 'x');
      body += "\"}}";
      pub_out_ +=
          fmt("POST /api/v1/publish HTTP/1.1\r\nHost: %s:%d\r\nX-API-Key: %s\r\n"
              "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
              o_.host.c_str(), o_.port, o_.api_key.c_str(), body.size());
      pub_out_ += body;
      pub_inflight_.push_back(topic);
      ++c_.published_sent;
      wrote = true;
    }
    if (wrote) flushPublisher();
  }

  void flushPublisher() {
    while (!pub_out_.empty()) {
      const ssize_t n = ::send(pub_fd_, pub_out_.data(), pub_out_.size(), MSG_NOSIGNAL);
      if (n > 0) {
        pub_out_.erase(0, static_cast<std::size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        break;
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        publisherLost(std::string("send: ") + std::strerror(errno));
        return;
      }
    }
    epoll_event ev{};
    ev.events = EPOLLIN | (pub_out_.empty() ? 0u : EPOLLOUT);
    ev.data.u32 = kPublisherTag;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, pub_fd_, &ev);
  }

  void publisherLost(const std::string& why) {
    ++c_.publish_reconnects;
    note("publish connection lost: " + why);
    connectPublisher();
  }

  void onPublisherEvent(uint32_t events) {
    if ((events & EPOLLOUT) != 0) flushPublisher();
    if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) == 0) return;
    bool closed = false;
    for (;;) {
      const ssize_t n = ::recv(pub_fd_, read_buf_.data(), read_buf_.size(), 0);
      if (n > 0) {
        pub_in_.append(read_buf_.data(), static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      closed = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
      break;
    }
    bool close_after = false;
    while (auto response = takeHttpResponse(pub_in_)) {
      const uint16_t topic = pub_inflight_.empty() ? 0 : pub_inflight_.front();
      if (!pub_inflight_.empty()) pub_inflight_.pop_front();
      const auto offset = findInt(response->body, "\"offset\":");
      if (response->status == 200 && offset) {
        ++c_.published_ok;
        topic_offset_[topic] = std::max(topic_offset_[topic], *offset);
      } else {
        ++c_.publish_errors;
        note("publish answered " + std::to_string(response->status) + " " + response->body.substr(0, 200));
      }
      close_after = close_after || response->close;
    }
    if (closed || close_after) publisherLost(closed ? "closed by the node" : "Connection: close");
  }

  // --- the report --------------------------------------------------------------

  int result(double setup_s, double run_s) {
    const bool ok = c_.events > 0 && c_.missing == 0 && c_.repeated == 0 && c_.missing_at_end == 0 && c_.stalls == 0 &&
                    c_.lost == 0 && c_.publish_errors == 0 && c_.publish_lost == 0 && c_.error_frames == 0 &&
                    c_.odd_frames == 0 && c_.close_timeouts == 0;
    for (const auto& [reason, count] : c_.reasons) std::printf("  %8" PRIu64 " x %s\n", count, reason.c_str());
    if (!c_.first_error.empty()) std::printf("  first problem: %s\n", c_.first_error.c_str());
    const double per_s = run_s > 0 ? 1.0 / run_s : 0;
    std::printf(
        "RESULT ok=%d connections=%d topics=%d sources=%d setup_s=%.1f run_s=%.1f churn=%.0f rate=%.0f"
        " connects_started=%" PRIu64 " connects_ready=%" PRIu64 " setup_failures=%" PRIu64 " closes_clean=%" PRIu64
        " closes_fin=%" PRIu64 " closes_reset=%" PRIu64 " close_timeouts=%" PRIu64 " final_close_timeouts=%" PRIu64
        " churn_skipped=%" PRIu64 " lost=%" PRIu64 " published=%" PRIu64 " published_per_s=%.0f publish_errors=%" PRIu64
        " publish_lost=%" PRIu64 " publish_reconnects=%" PRIu64 " publish_max_behind=%" PRId64 " events=%" PRIu64
        " events_per_s=%.0f missing=%" PRIu64 " repeated=%" PRIu64 " missing_at_end=%" PRIu64 " stalls=%" PRIu64
        " error_frames=%" PRIu64 " odd_frames=%" PRIu64 " pings=%" PRIu64
        " close_wait_p50_ms=%.1f close_wait_p99_ms=%.1f close_wait_max_ms=%.1f latency_p50_ms=%.1f"
        " latency_p99_ms=%.1f latency_max_ms=%.1f\n",
        ok ? 1 : 0, o_.connections, o_.topics, o_.sources, setup_s, run_s, o_.churn, o_.rate, c_.connects_started,
        c_.connects_ready, c_.setup_failures, c_.closes_clean, c_.closes_fin, c_.closes_reset, c_.close_timeouts,
        c_.final_close_timeouts, c_.churn_skipped, c_.lost, c_.published_ok,
        static_cast<double>(c_.published_ok) * per_s, c_.publish_errors, c_.publish_lost, c_.publish_reconnects,
        c_.publish_max_behind, c_.events, static_cast<double>(c_.events) * per_s, c_.missing, c_.repeated,
        c_.missing_at_end, c_.stalls, c_.error_frames, c_.odd_frames, c_.pings, ms(churn_close_wait_.percentile(0.5)),
        ms(churn_close_wait_.percentile(0.99)), ms(churn_close_wait_.max()), ms(latency_.percentile(0.5)),
        ms(latency_.percentile(0.99)), ms(latency_.max()));
    std::fflush(stdout);
    return ok ? kExitOk : kExitCheckFailed;
  }

  const Options& o_;
  sockaddr_in node_;
  std::vector<sockaddr_in> sources_;
  std::vector<std::string> topic_names_;
  std::vector<Slot> slots_;
  std::vector<int64_t> topic_offset_;  // the highest offset the publisher was given, per topic
  Rng rng_;
  int epoll_fd_ = -1;
  std::vector<char> read_buf_;
  using Due = std::pair<int64_t, uint32_t>;  // {when, slot}
  std::priority_queue<Due, std::vector<Due>, std::greater<>> to_connect_;
  int setting_up_ = 0;
  int open_ = 0;
  int64_t run_start_ = 0;
  int64_t next_sweep_ = 0;
  uint64_t churned_ = 0;
  bool stop_publishing_ = false;
  bool final_close_ = false;
  int pub_fd_ = -1;
  std::string pub_out_;
  std::string pub_in_;
  std::deque<uint16_t> pub_inflight_;  // the topic of each request in flight, oldest first
  Counters c_;
  Histogram latency_;           // publish request written to event read, every delivery
  Histogram close_wait_;        // our close frame to the node's
  Histogram churn_close_wait_;  // the same, for the churned closes only (not the final mass close)
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  try {
    options = parseOptions(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ws_soak: %s\n%s", e.what(), kUsage);
    return kExitUsage;
  }
  signal(SIGPIPE, SIG_IGN);
  try {
    raiseFileLimit(options.connections + 64);
    Soak soak(options);
    return soak.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ws_soak: %s\n", e.what());
    return kExitSetupFailed;
  }
}
