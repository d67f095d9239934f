#include "ml_node_worker.hpp"

#include "batch_message.hpp"

#include <Poco/Buffer.h>
#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/WebSocket.h>
#include <Poco/URI.h>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace eventnode::plugins::pow_batches {
namespace {

constexpr const char* kSocketPath = "/api/v1/pow/ws";
constexpr long kReceiveSliceMicros = 250000;  // how often an idle worker checks for stop
constexpr long kAckPollMicros = 20000;        // a fallback: commits wake the worker through its Waker
constexpr std::size_t kMaxPendingAcks = 256;  // batches of one node in flight before the worker waits

// Poco's flag and opcode enums are combined as ints (C++20 deprecates mixing enums).
constexpr int kPingFlags =
    static_cast<int>(Poco::Net::WebSocket::FRAME_FLAG_FIN) | static_cast<int>(Poco::Net::WebSocket::FRAME_OP_PING);
constexpr int kPongFlags =
    static_cast<int>(Poco::Net::WebSocket::FRAME_FLAG_FIN) | static_cast<int>(Poco::Net::WebSocket::FRAME_OP_PONG);

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::uint16_t closeCode(const Poco::Buffer<char>& payload, int size) {
  if (size < 2) return 1005;
  return static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                    static_cast<unsigned char>(payload[1]));
}

}  // namespace

struct MlNodeWorker::Waker {
  Waker() : fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  }
  ~Waker() { ::close(fd); }
  Waker(const Waker&) = delete;
  Waker& operator=(const Waker&) = delete;
  void wake() const {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(fd, &one, sizeof one);  // full only after 2^64 - 1 wakes
  }
  void drain() const {
    std::uint64_t count = 0;
    [[maybe_unused]] const auto read = ::read(fd, &count, sizeof count);
  }
  const int fd;
};

MlNodeWorker::MlNodeWorker(MlNodeConfig config, IntakeTiming timing, BatchWriter& writer,
                           std::shared_ptr<spdlog::logger> logger)
    : config_(std::move(config)),
      timing_(timing),
      // The documented 3-5 s: a fixed step (min = max, it never grows) plus
      // added jitter, so nodes that dropped together are not redialled together.
      redial_({.min = timing.reconnect_delay,
               .max = timing.reconnect_delay,
               .full_jitter = false,
               .added_jitter = timing.reconnect_jitter}),
      waker_(std::make_shared<Waker>()),
      writer_(writer),
      logger_(std::move(logger)) {}

MlNodeWorker::~MlNodeWorker() {
  stop();
}

void MlNodeWorker::start() {
  std::lock_guard lock(mutex_);
  if (running_) return;
  if (thread_.joinable()) thread_.join();  // a thread that ended after stop()
  running_ = true;
  state_ = "connecting";
  thread_ = std::thread([this] { run(); });
  logger_->info("intake started node={} url={}", config_.id, config_.url);
}

void MlNodeWorker::stop() {
  std::thread ending;
  {
    std::lock_guard lock(mutex_);
    running_ = false;
    ending.swap(thread_);
  }
  wake_.notify_all();
  if (ending.joinable()) {
    ending.join();
    logger_->info("intake stopped node={}", config_.id);
  }
  std::lock_guard lock(mutex_);
  state_ = "stopped";
  connected_since_.reset();
}

plugin::Json MlNodeWorker::status() const {
  std::lock_guard lock(mutex_);
  return {{"id", config_.id},
          {"node_num", config_.node_num},
          {"url", config_.url},
          {"state", state_},
          {"connected_since", connected_since_ ? plugin::Json(*connected_since_) : plugin::Json(nullptr)},
          {"reconnects", reconnects_},
          {"batches", {{"websocket", ws_batches_.load()}, {"http", http_batches_.load()}}},
          {"invalid_messages", invalid_messages_.load()},
          {"last_error", last_error_ ? plugin::Json(*last_error_) : plugin::Json(nullptr)}};
}

void MlNodeWorker::setState(const char* state, std::optional<std::string> error) {
  std::lock_guard lock(mutex_);
  state_ = state;
  if (error) last_error_ = std::move(error);
}

bool MlNodeWorker::waitForInput(Poco::Net::WebSocket& socket, long micros) {
  pollfd fds[2] = {{socket.impl()->sockfd(), POLLIN, 0}, {waker_->fd, POLLIN, 0}};
  if (::poll(fds, 2, static_cast<int>(micros / 1000)) <= 0) return false;  // timeout or EINTR: the loop comes back
  if (fds[1].revents) waker_->drain();
  return fds[0].revents != 0;
}

bool MlNodeWorker::waitBeforeRedial() {
  const auto delay = redial_.next();
  std::unique_lock lock(mutex_);
  state_ = "waiting";
  ++reconnects_;
  wake_.wait_for(lock, delay, [&] { return !running_; });
  if (running_) state_ = "connecting";
  return running_;
}

void MlNodeWorker::run() {
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (!running_) return;
    }
    try {
      const Poco::URI base(config_.url);
      Poco::Net::HTTPClientSession session(base.getHost(), base.getPort());
      session.setTimeout(
          Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(timing_.dial_timeout).count()));
      Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, kSocketPath, Poco::Net::HTTPMessage::HTTP_1_1);
      Poco::Net::HTTPResponse response;
      Poco::Net::WebSocket socket(session, request, response);
      socket.setMaxPayloadSize(static_cast<int>(timing_.max_message_bytes));
      {
        std::lock_guard lock(mutex_);
        state_ = "connected";
        connected_since_ = unixNow();
      }
      logger_->info("connected node={} url={}{}", config_.id, config_.url, kSocketPath);
      serve(socket);
    } catch (const Poco::Exception& e) {
      setState("waiting", e.displayText());
      logger_->warn("connection failed node={} error=\"{}\"", config_.id, e.displayText());
    } catch (const std::exception& e) {
      setState("waiting", e.what());
      logger_->warn("connection failed node={} error=\"{}\"", config_.id, e.what());
    }
    {
      std::lock_guard lock(mutex_);
      connected_since_.reset();
    }
    if (!waitBeforeRedial()) return;
  }
}

void MlNodeWorker::serve(Poco::Net::WebSocket& socket) {
  // receiveFrame cannot resume a frame it gave up on, so it gets the whole
  // silence budget; waiting for stop requests happens in poll() instead.
  socket.setReceiveTimeout(
      Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(timing_.silence_timeout).count()));
  // An ML node that stops reading must not hold this worker (or a stop request) forever.
  socket.setSendTimeout(
      Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(timing_.dial_timeout).count()));
  auto last_heard = std::chrono::steady_clock::now();
  auto last_ping = last_heard;
  Poco::Buffer<char> frame(0);
  std::string message;
  std::deque<PendingAck> pending;
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (!running_) {
        sendAcks(socket, pending, true);
        socket.shutdown(1001, "intake stopped");
        return;
      }
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_heard >= timing_.silence_timeout) {
      setState("waiting", "no frame from the ML node for " + std::to_string(timing_.silence_timeout.count()) + " s");
      logger_->warn("dropping silent connection node={} silent_s={}", config_.id, timing_.silence_timeout.count());
      return;
    }
    if (now - last_ping >= timing_.ping_interval) {
      socket.sendFrame("", 0, kPingFlags);
      last_ping = now;
    }
    // available() also counts bytes the handshake read ahead into the socket's own buffer.
    sendAcks(socket, pending, false);
    if (socket.available() <= 0 && !waitForInput(socket, pending.empty() ? kReceiveSliceMicros : kAckPollMicros)) {
      continue;
    }
    int flags = 0;
    int size = 0;
    frame.resize(0);
    try {
      size = socket.receiveFrame(frame, flags);
    } catch (const Poco::TimeoutException&) {
      setState("waiting",
               "a frame from the ML node stalled for " + std::to_string(timing_.silence_timeout.count()) + " s");
      logger_->warn("dropping connection with a stalled frame node={}", config_.id);
      return;
    }
    last_heard = std::chrono::steady_clock::now();
    const int opcode = flags & Poco::Net::WebSocket::FRAME_OP_BITMASK;
    if (size == 0 && flags == 0) {
      setState("waiting", "the ML node closed the connection");
      logger_->warn("connection closed by the ML node node={}", config_.id);
      return;
    }
    if (opcode == Poco::Net::WebSocket::FRAME_OP_CLOSE) {
      const auto code = closeCode(frame, size);
      const std::string reason = size > 2 ? std::string(frame.begin() + 2, static_cast<std::size_t>(size - 2)) : "";
      if (code == 1008) {
        logger_->warn(
            "the ML node refused this connection (1008): it serves a single client and another one is connected; "
            "retrying node={} reason=\"{}\"",
            config_.id, reason);
      } else {
        logger_->warn("connection closed by the ML node node={} code={} reason=\"{}\"", config_.id, code, reason);
      }
      setState("waiting", "closed by the ML node with " + std::to_string(code) + (reason.empty() ? "" : ": " + reason));
      return;
    }
    if (opcode == Poco::Net::WebSocket::FRAME_OP_PING) {
      socket.sendFrame(frame.begin(), size, kPongFlags);
      continue;
    }
    if (opcode == Poco::Net::WebSocket::FRAME_OP_PONG) continue;
    message.append(frame.begin(), static_cast<std::size_t>(size));
    if (message.size() > timing_.max_message_bytes) {
      setState("waiting", "message over the limit");
      socket.shutdown(1009, "message too big");
      return;
    }
    if (!(flags & Poco::Net::WebSocket::FRAME_FLAG_FIN)) continue;  // a fragment: wait for the rest
    if (auto submitted = handleMessage(message)) pending.push_back(std::move(*submitted));
    message.clear();
    // The next message is read while this one commits, so one group commit
    // can hold many of this node's batches; acks still go out in order.
    sendAcks(socket, pending, pending.size() >= kMaxPendingAcks);
  }
}

std::optional<MlNodeWorker::PendingAck> MlNodeWorker::handleMessage(const std::string& text) {
  const auto refuse = [&](const std::string& why) -> std::optional<PendingAck> {
    invalid_messages_.fetch_add(1);
    logger_->warn("invalid message from node={} (not acknowledged) error=\"{}\"", config_.id, why);
    return std::nullopt;
  };
  auto parsed = parseBatchMessage(text, timing_.max_batch_length);
  if (auto* error = std::get_if<ParseError>(&parsed)) return refuse(error->message);
  auto& message = std::get<BatchMessage>(parsed);
  if (message.batch.node_num != config_.node_num) {
    return refuse("batch.node_id " + std::to_string(message.batch.node_num) + " is not this node's node_num " +
                  std::to_string(config_.node_num));
  }
  return PendingAck{
      writer_.submit({std::move(message.batch), config_.id, "websocket"}, [waker = waker_] { waker->wake(); }),
      std::move(message.id)};
}

void MlNodeWorker::sendAcks(Poco::Net::WebSocket& socket, std::deque<PendingAck>& pending, bool wait) {
  while (!pending.empty()) {
    auto& front = pending.front();
    if (!wait && front.recorded.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return;
    try {
      const auto result = front.recorded.get();
      ws_batches_.fetch_add(1);
      logger_->debug("batch recorded node={} batch_id={} duplicate={}", config_.id, result.batch_id, result.duplicate);
      const auto ack = plugin::Json{{"type", "ack"}, {"id", front.id}}.dump();
      socket.sendFrame(ack.data(), static_cast<int>(ack.size()), Poco::Net::WebSocket::FRAME_TEXT);
    } catch (const Poco::Exception&) {
      pending.pop_front();
      throw;  // the connection failed: the caller redials, and the ML node resends what was not acked
    } catch (const std::exception& e) {
      // Not recorded, so not acknowledged: the ML node will send it again.
      logger_->error("cannot record batch node={} error=\"{}\"", config_.id, e.what());
    }
    pending.pop_front();
  }
}

}  // namespace eventnode::plugins::pow_batches
