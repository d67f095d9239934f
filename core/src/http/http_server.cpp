#include "http/http_server.hpp"

#include "http/http_request_reader.hpp"
#include "http/http_response_writer.hpp"
#include "http/worker_pool.hpp"

#include <Poco/Net/Context.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocketImpl.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <vector>

namespace eventnode::core {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kListenTag = 0;
constexpr std::uint64_t kWakeTag = 1;
/// Also what a pipelined next request can hold while the current one is
/// answered: reading stops as soon as a request is complete.
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr int kMaxAcceptsPerWake = 256;
/// How long a closing connection keeps reading what its client still sends
/// (RFC 9112 §9.6): closed with unread bytes, the socket would send a reset,
/// which can destroy the answer before the client reads it.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr auto kSweepInterval = std::chrono::milliseconds(250);
/// After accept() fails for want of descriptors or memory, how long to leave the backlog alone.
constexpr auto kAcceptPause = std::chrono::milliseconds(100);
/// Paths answered on their own lane, so that busy route handlers cannot delay them.
bool isControlPath(const std::string& path) {
  return path == "/healthz" || path == "/metrics";
}

/// Binds the listening socket; `tls` receives the TLS context when TLS is on.
Poco::Net::ServerSocket bind(const ServerSection& settings, Poco::Net::Context::Ptr& tls) {
  const Poco::Net::SocketAddress address(settings.listen, static_cast<Poco::UInt16>(settings.port));
  // Bound by hand: Poco's convenience constructors also set SO_REUSEPORT, which
  // would let a second node share the port silently instead of failing.
  if (!settings.tls.enabled) {
    Poco::Net::ServerSocket socket;
    socket.bind(address, true, false);
    socket.listen(1024);
    return socket;
  }
  Poco::Net::Context::Ptr context = new Poco::Net::Context(
      Poco::Net::Context::TLS_SERVER_USE, settings.tls.key.string(), settings.tls.cert.string(),
      settings.tls.ca.string(),
      settings.tls.ca.empty() ? Poco::Net::Context::VERIFY_NONE : Poco::Net::Context::VERIFY_RELAXED);
  context->disableProtocols(Poco::Net::Context::PROTO_SSLV2 | Poco::Net::Context::PROTO_SSLV3 |
                            Poco::Net::Context::PROTO_TLSV1 | Poco::Net::Context::PROTO_TLSV1_1);
  tls = context;
  Poco::Net::SecureServerSocket socket(context);
  socket.bind(address, true, false);
  socket.listen(1024);
  return socket;
}

struct Connection {
  enum class Phase {
    Reading,  ///< waiting for (the rest of) a request
    Working,  ///< a worker has the request; the socket is not watched
    Writing,  ///< the answer is being written
    Lingering,  ///< answered with "Connection: close": what the client still sends is read and dropped
  };

  Connection(std::uint64_t connection_id, Poco::Net::StreamSocket stream, bool secure, std::string address,
             std::size_t max_body)
      : id(connection_id),
        socket(std::move(stream)),
        fd(socket.impl()->sockfd()),
        tls(secure),
        ip(std::move(address)),
        reader(std::make_unique<HttpRequestReader>(max_body)) {}

  std::uint64_t id;
  Poco::Net::StreamSocket socket;
  int fd;
  bool tls;
  std::string ip;
  std::unique_ptr<HttpRequestReader> reader;
  std::string in;  ///< received and not yet consumed by the reader
  std::string out;
  std::size_t out_written = 0;
  Phase phase = Phase::Reading;
  bool close_after_write = false;
  bool continue_sent = false;
  bool between_requests = false;  ///< has answered at least once and waits for the next request
  std::size_t reserved = 0;                ///< body bytes counted against http_buffered_bytes
  std::optional<UpgradeDecision> upgrade;  ///< accepted: hand over once the 101 is written
  Clock::time_point phase_started;         ///< when the current deadline's clock started
};

}  // namespace

class HttpServer::Loop {
 public:
  Loop(HttpServer& server, Poco::Net::ServerSocket listener, Poco::Net::Context::Ptr tls)
      : server_(server),
        tls_(std::move(tls)),
        settings_(server.settings_),
        limits_(server.settings_.limits),
        listener_(std::move(listener)),
        listen_fd_(listener_.impl()->sockfd()),
        work_("http-work", static_cast<std::size_t>(settings_.http_threads), limits_.http_queue),
        control_("http-control", 1, limits_.http_queue) {
    read_buffer_.resize(kReadChunk);
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_fd_ < 0 || wake_fd_ < 0) throw std::runtime_error(std::string("epoll: ") + std::strerror(errno));
    listener_.setBlocking(false);
    watch(listen_fd_, kListenTag, EPOLLIN, EPOLL_CTL_ADD);
    watch(wake_fd_, kWakeTag, EPOLLIN, EPOLL_CTL_ADD);
    thread_ = std::thread([this] { run(); });
    pthread_setname_np(thread_.native_handle(), "http-io");
  }

  ~Loop() { stop(); }

  void stop() {
    if (!thread_.joinable()) return;
    stopping_ = true;
    wake();
    thread_.join();
    // Running handlers finish (they may hold a durable write); queued ones are dropped.
    work_.stop();
    control_.stop();
    connections_.clear();
    listener_.close();
    ::close(wake_fd_);
    ::close(epoll_fd_);
  }

 private:
  struct Completion {
    std::uint64_t id;
    std::string bytes;
    bool close;
  };

  void run() {
    std::vector<epoll_event> events(256);
    auto next_sweep = Clock::now() + kSweepInterval;
    while (!stopping_) {
      const int ready = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 100);
      if (ready < 0 && errno != EINTR) {
        server_.logger_->error("epoll_wait failed error=\"{}\"", std::strerror(errno));
        break;
      }
      for (int i = 0; i < ready; ++i) {
        const auto tag = events[static_cast<std::size_t>(i)].data.u64;
        const auto flags = events[static_cast<std::size_t>(i)].events;
        if (tag == kListenTag) {
          acceptAll();
        } else if (tag == kWakeTag) {
          std::uint64_t count = 0;
          [[maybe_unused]] const auto n = ::read(wake_fd_, &count, sizeof(count));
          takeCompletions();
        } else if (const auto it = connections_.find(tag); it != connections_.end()) {
          serve(tag, flags);
        }
      }
      const auto now = Clock::now();
      if (now >= next_sweep) {
        sweep(now);
        next_sweep = now + kSweepInterval;
      }
      if (accept_paused_ && now >= accept_resume_) {
        accept_paused_ = false;
        watch(listen_fd_, kListenTag, EPOLLIN, EPOLL_CTL_ADD);
      }
    }
  }

  void watch(int fd, std::uint64_t tag, std::uint32_t events, int op) {
    epoll_event event{};
    event.events = events;
    event.data.u64 = tag;
    if (::epoll_ctl(epoll_fd_, op, fd, &event) != 0 && op != EPOLL_CTL_DEL) {
      server_.logger_->warn("epoll_ctl failed fd={} error=\"{}\"", fd, std::strerror(errno));
    }
  }

  void wake() {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof(one));
  }

  // ---- accepting ----

  void acceptAll() {
    for (int i = 0; i < kMaxAcceptsPerWake; ++i) {
      sockaddr_storage address{};
      socklen_t length = sizeof(address);
      const int fd =
          ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Out of descriptors: the backlog would wake this loop again at once,
          // for ever. Leave it alone for a moment; deadlines free descriptors.
          server_.logger_->warn("accept paused error=\"{}\" open_http_connections={}", std::strerror(errno),
                                connections_.size());
          watch(listen_fd_, kListenTag, 0, EPOLL_CTL_DEL);
          accept_paused_ = true;
          accept_resume_ = Clock::now() + kAcceptPause;
        }
        return;
      }
      adopt(fd, address, length);
    }
  }

  void adopt(int fd, const sockaddr_storage& address, socklen_t length) {
    Poco::Net::StreamSocket socket(new Poco::Net::StreamSocketImpl(fd));
    const auto ip = Poco::Net::SocketAddress(reinterpret_cast<const sockaddr*>(&address), length).host().toString();
    auto& per_ip = per_ip_[ip];
    if (connections_.size() >= limits_.max_http_connections || per_ip >= limits_.max_http_connections_per_ip) {
      if (per_ip == 0) per_ip_.erase(ip);
      server_.counters_.refused_connections.fetch_add(1, std::memory_order_relaxed);
      if (!settings_.tls.enabled) {
        // Best effort, one write: the client learns why instead of seeing a reset.
        const auto answer = serializeResponse(
            plugin::HttpResponse::error(503, "too_many_connections",
                                        connections_.size() >= limits_.max_http_connections
                                            ? "the node holds its maximum of HTTP connections"
                                            : "this address holds its maximum of HTTP connections"),
            false, 11);
        [[maybe_unused]] const auto n = ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
      }
      return;  // the socket closes as it goes out of scope
    }
    try {
      // Poco's TLS layer asks the plain socket it wraps whether to wait for a
      // record: told here, before it is wrapped, a partial record is "read
      // again later" instead of a Timeout exception. The handshake then
      // happens on the first reads, without blocking.
      socket.setBlocking(false);
      if (tls_) {
        socket = Poco::Net::SecureStreamSocket::attach(socket, tls_);
        socket.setBlocking(false);
      }
      socket.setNoDelay(true);
    } catch (const Poco::Exception& e) {
      if (per_ip == 0) per_ip_.erase(ip);
      server_.logger_->warn("cannot set up connection remote={} error=\"{}\"", ip, e.displayText());
      return;
    }
    ++per_ip;
    const auto id = next_id_++;
    auto connection = std::make_unique<Connection>(id, std::move(socket), settings_.tls.enabled, ip,
                                                   settings_.max_http_body_bytes);
    connection->phase_started = Clock::now();
    watch(connection->fd, id, EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, EPOLL_CTL_ADD);
    connections_.emplace(id, std::move(connection));
    server_.counters_.open_connections.store(connections_.size(), std::memory_order_relaxed);
  }

  /// One connection's event. Whatever a request makes throw (an upgrade
  /// decision, a refusal's text) ends that connection, never this thread:
  /// the loop serves every other client.
  void serve(std::uint64_t id, std::uint32_t flags) {
    try {
      onEvent(*connections_.at(id), flags);
    } catch (const std::exception& e) {
      server_.logger_->error("http connection failed error=\"{}\"", e.what());
      if (const auto it = connections_.find(id); it != connections_.end()) close(*it->second);
    }
  }

  // ---- reading ----

  void onEvent(Connection& c, std::uint32_t flags) {
    if (c.phase == Connection::Phase::Writing) {
      if (flags & (EPOLLERR | EPOLLHUP)) return close(c);
      return write(c);
    }
    if (c.phase == Connection::Phase::Reading) return onReadable(c);
    if (c.phase == Connection::Phase::Lingering) return drain(c);
  }

  /// Reads what has arrived, at most a few chunks a wake so one fast sender
  /// cannot monopolise the loop, and parses it.
  void onReadable(Connection& c) {
    for (int reads = 0; reads < 4; ++reads) {
      const auto received = receive(c);
      if (received == 0) return close(c);  // the peer is gone, or reset
      if (received < 0) break;             // nothing more for now
      c.in.append(read_buffer_.data(), static_cast<std::size_t>(received));
      if (!parse(c)) return;  // answered, handed over or closed
    }
    if (c.phase == Connection::Phase::Reading) arm(c);
  }

  /// Bytes read, 0 for end of stream or an error, -1 when nothing is waiting.
  ssize_t receive(Connection& c) {
    if (c.tls) {
      try {
        const int n = c.socket.receiveBytes(read_buffer_.data(), static_cast<int>(read_buffer_.size()));
        return n < 0 ? -1 : n;  // negative: the TLS layer wants more bytes
      } catch (const Poco::Exception&) {
        return 0;
      }
    }
    const auto n = ::recv(c.fd, read_buffer_.data(), read_buffer_.size(), 0);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -1 : 0;
    return n;
  }

  /// Feeds the buffered bytes to the reader. False once the connection left
  /// the Reading phase (a request went to a worker, an answer is being
  /// written, or the connection was closed or handed over).
  bool parse(Connection& c) {
    if (!c.in.empty() && !c.reader->started()) {
      c.phase_started = Clock::now();  // the header deadline counts from a request's first byte
      c.between_requests = false;
    }
    const bool header_was_done = c.reader->headerDone();
    const auto used = c.reader->feed(c.in);
    c.in.erase(0, used);
    if (!header_was_done && c.reader->headerDone()) c.phase_started = Clock::now();  // the body's deadline starts
    if (!reserve(c, c.reader->bodyBytes())) {
      // Bodies are held whole until answered: without a budget, many clients
      // each sending a 16 MB body would hold their sum in memory.
      server_.counters_.refused_busy.fetch_add(1, std::memory_order_relaxed);
      auto busy = plugin::HttpResponse::error(
          503, "busy",
          "the node holds its maximum of " + std::to_string(limits_.http_buffered_bytes) +
              " bytes of request bodies (server.limits.http_buffered_bytes); retry shortly");
      busy.headers.emplace_back("Retry-After", "1");
      respond(c, serializeResponse(busy, false, 11), true);
      return false;
    }
    switch (c.reader->state()) {
      case HttpRequestReader::State::NeedMore:
        if (c.reader->expectsContinue() && !c.continue_sent) {
          // The client waits for this before it sends the body.
          c.continue_sent = true;
          sendNow(c, kContinueResponse);
        }
        return true;
      case HttpRequestReader::State::Refused:
        server_.counters_.malformed.fetch_add(1, std::memory_order_relaxed);
        respond(c, serializeResponse(c.reader->refusal(), false, c.reader->version()), true);
        return false;
      case HttpRequestReader::State::Complete:
        dispatch(c);
        return false;
    }
    return false;
  }

  void dispatch(Connection& c) {
    server_.counters_.requests.fetch_add(1, std::memory_order_relaxed);
    auto& request = c.reader->request();
    request.remote_address = c.ip;
    const bool keep_alive = c.reader->keepAlive();
    const unsigned version = c.reader->version();
    if (server_.upgrades_) {
      if (auto decision = server_.upgrades_(request)) return upgrade(c, std::move(*decision), keep_alive, version);
    }
    c.phase = Connection::Phase::Working;
    auto& lane = isControlPath(request.path) ? control_ : work_;
    const auto id = c.id;
    const bool queued = lane.trySubmit([this, id, keep_alive, version, request = std::move(request)]() mutable {
      const auto response = server_.handler_.answer(request);
      complete(Completion{id, serializeResponse(response, keep_alive, version), !keep_alive});
    });
    if (!queued) {
      server_.counters_.refused_busy.fetch_add(1, std::memory_order_relaxed);
      auto busy = plugin::HttpResponse::error(
          503, "busy", std::to_string(limits_.http_queue) + " requests are already waiting for a worker; retry shortly");
      busy.headers.emplace_back("Retry-After", "1");
      respond(c, serializeResponse(busy, keep_alive, version), !keep_alive);
    }
  }

  void upgrade(Connection& c, UpgradeDecision decision, bool keep_alive, unsigned version) {
    if (decision.refusal) return respond(c, serializeResponse(*decision.refusal, keep_alive, version), !keep_alive);
    if (!c.in.empty()) {
      // RFC 6455 §4.1: a client waits for the handshake's answer before it sends frames.
      decision.abandon();
      return respond(c,
                     serializeResponse(plugin::HttpResponse::error(
                                           400, "bad_upgrade", "bytes arrived after the upgrade request before its answer"),
                                       false, version),
                     true);
    }
    c.upgrade = std::move(decision);
    respond(c, serializeResponse(c.upgrade->switching, true, version), false);
  }

  // ---- answering ----

  /// From a worker thread.
  void complete(Completion completion) {
    {
      std::lock_guard lock(completions_mutex_);
      completions_.push_back(std::move(completion));
    }
    wake();
  }

  void takeCompletions() {
    {
      std::lock_guard lock(completions_mutex_);
      taken_.swap(completions_);
    }
    for (auto& completion : taken_) {
      const auto it = connections_.find(completion.id);
      if (it == connections_.end()) continue;
      try {
        respond(*it->second, std::move(completion.bytes), completion.close);  // may parse a pipelined request
      } catch (const std::exception& e) {
        server_.logger_->error("http connection failed error=\"{}\"", e.what());
        if (const auto again = connections_.find(completion.id); again != connections_.end()) close(*again->second);
      }
    }
    taken_.clear();
  }

  void respond(Connection& c, std::string bytes, bool close_after) {
    release(c);  // answered: the request's body is no longer held for it
    c.out = std::move(bytes);
    c.out_written = 0;
    c.close_after_write = close_after;
    c.phase = Connection::Phase::Writing;
    c.phase_started = Clock::now();
    write(c);
  }

  void write(Connection& c) {
    while (c.out_written < c.out.size()) {
      const auto sent = send(c, c.out.data() + c.out_written, c.out.size() - c.out_written);
      if (sent == 0) return close(c);
      if (sent < 0) return armWrite(c);
      c.out_written += static_cast<std::size_t>(sent);
    }
    c.out.clear();
    c.out_written = 0;
    if (c.upgrade) return handOver(c);
    if (c.close_after_write) return linger(c);
    // Ready for the next request on this connection.
    c.reader = std::make_unique<HttpRequestReader>(settings_.max_http_body_bytes);
    c.continue_sent = false;
    c.between_requests = true;
    c.phase = Connection::Phase::Reading;
    c.phase_started = Clock::now();
    if (!c.in.empty() && !parse(c)) return;  // a pipelined request was already here
    arm(c);
  }

  /// The answer is out and the connection ends: the client is sent a FIN and
  /// what it still sends (the rest of a refused body) is dropped until it
  /// closes too or kLingerTime passes. TLS connections close at once: a raw
  /// FIN under an open TLS session is not how they end.
  void linger(Connection& c) {
    if (c.tls || ::shutdown(c.fd, SHUT_WR) != 0) return close(c);
    c.in.clear();
    c.phase = Connection::Phase::Lingering;
    c.phase_started = Clock::now();
    arm(c);
  }

  void drain(Connection& c) {
    for (int reads = 0; reads < 4; ++reads) {
      const auto received = ::recv(c.fd, read_buffer_.data(), read_buffer_.size(), 0);
      if (received == 0) return close(c);
      if (received < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
        return close(c);
      }
    }
    arm(c);
  }

  /// Writes what it can at once (the interim 100 Continue).
  void sendNow(Connection& c, std::string_view bytes) { [[maybe_unused]] const auto n = send(c, bytes.data(), bytes.size()); }

  /// Bytes written, 0 on a broken connection, -1 when the socket is full.
  ssize_t send(Connection& c, const char* data, std::size_t size) {
    if (c.tls) {
      try {
        const int n = c.socket.sendBytes(data, static_cast<int>(size));
        return n < 0 ? -1 : n;
      } catch (const Poco::Exception&) {
        return 0;
      }
    }
    const auto n = ::send(c.fd, data, size, MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -1 : 0;
    return n;
  }

  void handOver(Connection& c) {
    auto decision = std::move(*c.upgrade);
    c.upgrade.reset();
    watch(c.fd, c.id, 0, EPOLL_CTL_DEL);
    auto socket = c.socket;
    const bool tls = c.tls;
    forget(c);  // the socket now belongs to the gateway: forget() must not close it
    try {
      decision.adopt(std::move(socket), tls);
    } catch (const std::exception& e) {
      decision.abandon();
      server_.logger_->warn("upgrade failed error=\"{}\"", e.what());
    }
  }

  void arm(Connection& c) { watch(c.fd, c.id, EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, EPOLL_CTL_MOD); }
  void armWrite(Connection& c) { watch(c.fd, c.id, EPOLLOUT | EPOLLONESHOT, EPOLL_CTL_MOD); }

  /// Counts the connection's body bytes against http_buffered_bytes; false
  /// (nothing counted) when they would go past it.
  bool reserve(Connection& c, std::size_t bytes) {
    if (bytes <= c.reserved) return true;
    const auto more = bytes - c.reserved;
    if (more > limits_.http_buffered_bytes - buffered_bytes_) return false;
    buffered_bytes_ += more;
    c.reserved = bytes;
    return true;
  }

  void release(Connection& c) {
    buffered_bytes_ -= c.reserved;
    c.reserved = 0;
  }

  // ---- deadlines and closing ----

  /// Closes connections past their deadline. A connection whose request is
  /// with a worker has none: the handler's own time is the handler's business.
  void sweep(Clock::time_point now) {
    std::vector<Connection*> late;
    for (auto& [id, connection] : connections_) {
      auto& c = *connection;
      if (c.phase == Connection::Phase::Working) continue;
      if (now - c.phase_started > allowance(c)) late.push_back(&c);
    }
    for (auto* c : late) {
      if (c->phase == Connection::Phase::Lingering) {
        close(*c);  // answered already: the end of its grace, not a timeout
        continue;
      }
      server_.counters_.timed_out.fetch_add(1, std::memory_order_relaxed);
      if (c->phase == Connection::Phase::Reading && c->reader->started()) {
        // Best effort: a client that started a request learns why it ends.
        const auto answer = serializeResponse(
            plugin::HttpResponse::error(408, "request_timeout",
                                        c->reader->headerDone() ? "the request body did not arrive in time"
                                                                : "the request header did not arrive in time"),
            false, 11);
        sendNow(*c, answer);
      }
      close(*c);
    }
  }

  std::chrono::seconds allowance(const Connection& c) const {
    if (c.phase == Connection::Phase::Lingering) return kLingerTime;
    if (c.phase == Connection::Phase::Writing) return limits_.http_body_timeout;
    if (c.reader->headerDone()) return limits_.http_body_timeout;
    if (c.reader->started() || !c.between_requests) return limits_.http_header_timeout;
    return limits_.http_idle_timeout;
  }

  void close(Connection& c) {
    watch(c.fd, c.id, 0, EPOLL_CTL_DEL);
    if (c.upgrade) c.upgrade->abandon();
    forget(c);
  }

  /// Drops the connection from the books; its socket closes unless someone else holds it.
  void forget(Connection& c) {
    release(c);
    if (const auto it = per_ip_.find(c.ip); it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
    connections_.erase(c.id);
    server_.counters_.open_connections.store(connections_.size(), std::memory_order_relaxed);
  }

  HttpServer& server_;
  Poco::Net::Context::Ptr tls_;  ///< null for plain HTTP
  const ServerSection& settings_;
  const LimitsSection& limits_;
  Poco::Net::ServerSocket listener_;
  int listen_fd_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  WorkerPool work_;
  WorkerPool control_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  bool accept_paused_ = false;
  Clock::time_point accept_resume_{};
  std::size_t buffered_bytes_ = 0;  ///< request bodies held, over every connection
  std::uint64_t next_id_ = 2;  // 0 and 1 tag the listener and the wake-up
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections_;
  std::unordered_map<std::string, std::size_t> per_ip_;
  std::vector<char> read_buffer_;
  std::mutex completions_mutex_;
  std::vector<Completion> completions_;
  std::vector<Completion> taken_;
};

HttpServer::HttpServer(const ServerSection& settings, const HttpRouter& router, const JwtAuthenticator& auth,
                       std::shared_ptr<spdlog::logger> logger, UpgradeRouter upgrades)
    : settings_(settings),
      handler_(router, auth, logger),
      logger_(std::move(logger)),
      upgrades_(std::move(upgrades)) {}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::start() {
  Poco::Net::ServerSocket socket;
  Poco::Net::Context::Ptr tls;
  try {
    socket = bind(settings_, tls);
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("cannot listen on " + settings_.listen + ":" + std::to_string(settings_.port) + ": " +
                             e.displayText() + "; change server.listen/server.port or stop the other process");
  }
  port_ = socket.address().port();
  loop_ = std::make_unique<Loop>(*this, std::move(socket), std::move(tls));
  logger_->info("listening address={} port={} tls={}", settings_.listen, port_, settings_.tls.enabled);
}

void HttpServer::stop() {
  if (!loop_) return;
  loop_->stop();
  loop_.reset();
  logger_->info("stopped listening port={}", port_);
}

}  // namespace eventnode::core
