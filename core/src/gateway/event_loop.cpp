#include "gateway/event_loop.hpp"

#include "topics/topic_pattern.hpp"
#include "gateway/client_protocol.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace eventnode::core {
namespace {

constexpr std::uint64_t kWakeTag = 0;
constexpr int kMaxEvents = 256;
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr int kMaxReadsPerWake = 4;  // so one busy client cannot starve the others
constexpr std::size_t kMaxIov = 64;
constexpr auto kCloseGrace = std::chrono::seconds(2);

FramePtr textFrame(std::string_view text) {
  auto frame = std::make_shared<OutboundFrame>();
  frame->bytes = ws::encodeFrame(ws::Opcode::Text, text);
  return frame;
}

FramePtr controlFrame(std::string bytes) {
  auto frame = std::make_shared<OutboundFrame>();
  frame->bytes = std::move(bytes);
  return frame;
}

}  // namespace

EventLoop::EventLoop(std::size_t index, LoopContext& context)
    : index_(index), context_(context), counters_(context.metrics.loop(index)), read_buffer_(kReadChunk) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0)
    throw std::runtime_error(std::string("cannot create the I/O loop: ") + std::strerror(errno));
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = kWakeTag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event);
}

EventLoop::~EventLoop() {
  stop();
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

void EventLoop::start() {
  thread_ = std::thread([this] { run(); });
}

void EventLoop::stop() {
  if (!thread_.joinable()) return;
  post(ShutdownTask{});
  thread_.join();
}

void EventLoop::post(LoopTask task) {
  bool was_empty = false;
  {
    std::lock_guard lock(inbox_mutex_);
    was_empty = inbox_.empty();
    inbox_.push_back(std::move(task));
  }
  // Only the first task of a batch wakes the loop; it drains them all.
  if (was_empty) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(wake_fd_, &one, sizeof(one));
  }
}

void EventLoop::run() {
  epoll_event events[kMaxEvents];
  last_heartbeat_ = Clock::now();
  while (true) {
    const int ready = ::epoll_wait(epoll_fd_, events, kMaxEvents, shutting_down_ ? 50 : 1000);
    for (int i = 0; i < ready; ++i) {
      if (events[i].data.u64 == kWakeTag) {
        std::uint64_t count;
        [[maybe_unused]] const auto read_count = ::read(wake_fd_, &count, sizeof(count));
        continue;
      }
      auto& connection = *static_cast<Connection*>(events[i].data.ptr);
      if (connection.doomed) continue;
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) onReadable(connection);
      if (!connection.doomed && (events[i].events & EPOLLOUT)) flush(connection);
    }
    drainInbox();
    flushDirty();
    const auto now = Clock::now();
    if (now - last_heartbeat_ >= std::chrono::seconds(1)) {
      heartbeat(now);
      last_heartbeat_ = now;
    }
    destroyDoomed();
    if (shutting_down_) {
      if (connections_.empty()) break;
      if (now >= shutdown_deadline_) {
        for (auto& [id, connection] : connections_) doom(*connection);
        destroyDoomed();
        break;
      }
    }
  }
}

void EventLoop::drainInbox() {
  {
    std::lock_guard lock(inbox_mutex_);
    working_.swap(inbox_);
  }
  for (auto& task : working_) {
    std::visit([this](auto& t) { handle(t); }, task);
  }
  working_.clear();
}

void EventLoop::handle(AdoptTask& task) {
  auto connection = task.connection;
  auto& c = *connection;
  const auto now = Clock::now();
  c.last_seen = c.last_ping = c.rate_window_start = now;
  c.fd = c.socket.impl()->sockfd();
  c.socket.setBlocking(false);
  c.socket.setNoDelay(true);
  epoll_event event{};
  event.events = EPOLLIN | EPOLLRDHUP;
  event.data.ptr = &c;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &event) != 0) {
    context_.logger->warn("cannot watch connection id={} error=\"{}\"", c.id, std::strerror(errno));
    c.socket.close();
    c.shared->closed = true;
    context_.on_closed(c);
    return;
  }
  connections_.emplace(c.id, connection);
  if (shutting_down_) {
    closeWith(c, ws::kCloseGoingAway, "server shutting down");
    return;
  }
  if (c.endpoint) {
    if (c.endpoint->on_open) c.endpoint->on_open(c.id, c.identity);
    return;
  }
  sendText(c, connectedMessage(c.id, c.identity, context_.node_id, task.automatic_topics));
  for (const auto& topic : task.automatic_topics) subscribe(c, topic, nullptr, {}, std::nullopt, false);
  // ?subscriptions= topics are answered exactly as subscribe messages are.
  for (const auto& topic : task.requested_topics) {
    if (!isValidTopic(topic)) {
      sendText(c, errorMessage("bad_topic", std::string("topic must be ") + kTopicNameRule));
      continue;
    }
    ClientRequest request;
    request.kind = ClientRequest::Kind::Subscribe;
    request.topic = topic;
    handleRequest(c, request);
  }
}

void EventLoop::handle(DeliverTask& task) {
  const auto it = subscribers_.find(task.topic.get());
  if (it == subscribers_.end()) return;
  std::uint64_t delivered = 0;
  for (auto* connection : it->second) {
    if (connection->closing) continue;
    auto* subscription = connection->findSubscription(task.topic.get());
    if (task.offset != 0) {
      // Skips what a fresh subscriber already got from history: this task may
      // have been queued before the subscriber's snapshot was taken.
      if (task.offset <= subscription->last_offset) continue;
      subscription->last_offset = task.offset;
      if (subscription->filter && !subscription->filter->matches(task.frame->data())) continue;
    }
    if (enqueue(*connection, task.frame)) ++delivered;
  }
  counters_.add(counters_.deliveries, delivered);
}

void EventLoop::handle(SendTask& task) {
  const auto it = connections_.find(task.id);
  if (it == connections_.end() || it->second->closing) return;
  enqueue(*it->second, task.frame);
}

void EventLoop::handle(CloseTask& task) {
  const auto it = connections_.find(task.id);
  if (it != connections_.end()) closeWith(*it->second, task.code, task.reason);
}

void EventLoop::handle(EpochResetTask& task) {
  const auto it = subscribers_.find(task.topic.get());
  if (it == subscribers_.end()) return;
  const auto message = subscribedMessage(task.topic->name, task.offset, task.epoch, false);
  for (auto* connection : it->second) {
    if (connection->closing) continue;
    connection->findSubscription(task.topic.get())->last_offset = task.offset;
    sendText(*connection, message);
  }
}

void EventLoop::handle(ResumeSubscribeTask& task) {
  const auto it = connections_.find(task.id);
  if (it == connections_.end() || it->second->closing) return;
  subscribe(*it->second, task.topic, task.since ? &*task.since : nullptr, task.epoch, std::move(task.filter),
            task.confirm, false);
}

void EventLoop::handle(ShutdownTask&) {
  if (shutting_down_) return;
  shutting_down_ = true;
  shutdown_deadline_ = Clock::now() + kCloseGrace;
  for (auto& [id, connection] : connections_) closeWith(*connection, ws::kCloseGoingAway, "server shutting down");
}

void EventLoop::onReadable(Connection& c) {
  for (int reads = 0; reads < kMaxReadsPerWake; ++reads) {
    ssize_t received = 0;
    if (c.tls) {
      try {
        received = c.socket.receiveBytes(read_buffer_.data(), static_cast<int>(read_buffer_.size()));
        if (received < 0) break;  // the TLS layer wants more bytes
      } catch (const Poco::Exception&) {
        received = -1;
        errno = ECONNRESET;
      }
    } else {
      received = ::recv(c.fd, read_buffer_.data(), read_buffer_.size(), 0);
    }
    if (received == 0 || (received < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      if (!c.closing) context_.metrics.closed(1006);  // closed without a close frame
      doom(c);
      return;
    }
    if (received < 0) break;
    counters_.add(counters_.bytes_in, static_cast<std::uint64_t>(received));
    c.last_seen = Clock::now();
    if (c.write_shut) continue;  // closing: only waiting for the peer's EOF
    c.reader.append(read_buffer_.data(), static_cast<std::size_t>(received));
    while (!c.closing) {
      auto event = c.reader.next();
      using Kind = ws::FrameReader::Kind;
      if (event.kind == Kind::NeedMore) break;
      switch (event.kind) {
        case Kind::Text:
          onText(c, event.payload);
          break;
        case Kind::Binary:
          counters_.add(counters_.messages_in, 1);
          if (!withinRate(c)) break;
          if (c.endpoint)
            closeWith(c, ws::kCloseUnsupportedData, "binary messages are not accepted");
          else
            sendText(c, errorMessage("bad_json", "expected a JSON text message, got a binary one"));
          break;
        case Kind::Ping:
          // A ping costs the node a pong: it counts as a message, and the pong as queued bytes.
          if (withinRate(c)) enqueue(c, controlFrame(ws::encodeFrame(ws::Opcode::Pong, event.payload)));
          break;
        case Kind::Pong:
          break;
        case Kind::Close:
          closeWith(c, event.code == 1005 ? std::uint16_t{ws::kCloseNormal} : event.code, "");
          break;
        case Kind::Error:
          context_.logger->debug("closing connection id={} code={} reason=\"{}\"", c.id, event.code, event.reason);
          closeWith(c, event.code, event.reason);
          break;
        case Kind::NeedMore:
          break;
      }
    }
    if (static_cast<std::size_t>(received) < read_buffer_.size()) break;
  }
}

bool EventLoop::withinRate(Connection& c) {
  const auto now = Clock::now();
  if (now - c.rate_window_start >= std::chrono::seconds(1)) {
    c.rate_window_start = now;
    c.rate_window_messages = 0;
  }
  const auto limit = context_.settings.limits.messages_per_second;
  if (++c.rate_window_messages <= limit) return true;
  context_.metrics.drop(DropReason::InboundRateLimited);
  if (c.rate_window_messages > 2 * limit) {
    closeWith(c, ws::kClosePolicyViolation, "message rate limit exceeded");
  } else {
    // Each drop is answered; the answers count toward outbound_buffer_bytes like any frame.
    sendText(c, errorMessage("rate_limited",
                             "more than " + std::to_string(limit) + " messages in a second; message dropped"));
  }
  return false;
}

void EventLoop::onText(Connection& c, std::string_view text) {
  counters_.add(counters_.messages_in, 1);
  if (!withinRate(c)) return;
  if (c.endpoint) {
    if (c.endpoint->on_message) c.endpoint->on_message(c.id, text);
    return;
  }
  auto parsed = parseClientMessage(text);
  if (auto* error = std::get_if<ProtocolError>(&parsed)) {
    context_.metrics.drop(DropReason::BadRequest);
    sendText(c, errorMessage(error->code, error->message));
    return;
  }
  handleRequest(c, std::get<ClientRequest>(parsed));
}

void EventLoop::handleRequest(Connection& c, ClientRequest& request) {
  switch (request.kind) {
    case ClientRequest::Kind::Ping:
      sendText(c, pongMessage());
      return;
    case ClientRequest::Kind::Unsubscribe:
      unsubscribe(c, request.topic);
      return;
    case ClientRequest::Kind::Refresh:
      refresh(c, request.token);
      return;
    case ClientRequest::Kind::Subscribe: {
      std::string reason;
      if (!context_.rules.maySubscribe(request.topic, c.identity, reason)) {
        context_.metrics.drop(DropReason::BadRequest);
        sendText(c, errorMessage("forbidden", reason));
        return;
      }
      subscribe(c, request.topic, request.since ? &*request.since : nullptr, request.epoch, std::move(request.filter),
                true);
      return;
    }
  }
}

void EventLoop::refresh(Connection& c, const std::string& token) {
  if (!c.identity.authenticated || !c.token_deadline) {
    sendText(c, errorMessage("bad_request", c.identity.authenticated
                                                ? "this connection's credentials do not expire; nothing to refresh"
                                                : "this connection has no token to refresh; reconnect with one"));
    return;
  }
  if (!context_.verify_token) {
    sendText(c, errorMessage("bad_request", "token refresh is not offered here; reconnect with a fresh token"));
    return;
  }
  // A signature check costs far more than a frame: one attempt a second is plenty for a token that lives minutes.
  const auto now = Clock::now();
  if (c.last_refresh && now - *c.last_refresh < std::chrono::seconds(1)) {
    context_.metrics.drop(DropReason::InboundRateLimited);
    sendText(c, errorMessage("rate_limited", "one refresh a second; this one was not checked"));
    return;
  }
  c.last_refresh = now;
  std::optional<std::chrono::system_clock::time_point> expires_at;
  plugin::Identity identity;
  try {
    identity = context_.verify_token(token, &expires_at);
  } catch (const std::exception& e) {
    context_.metrics.drop(DropReason::AuthFailed);
    sendText(c, errorMessage("unauthorized", std::string("token refused: ") + e.what() +
                                                 "; the connection keeps its current token"));
    return;
  }
  // Who the connection is decided what it may read and which topics it follows
  // automatically (user:<sub>, admins): a token for someone else is a new connection.
  auto roles = identity.roles;
  auto current = c.identity.roles;
  std::sort(roles.begin(), roles.end());
  std::sort(current.begin(), current.end());
  if (identity.user != c.identity.user || roles != current) {
    context_.metrics.drop(DropReason::AuthFailed);
    sendText(c, errorMessage("forbidden", "the token is for another user or other roles; reconnect to change them"));
    return;
  }
  c.token_deadline = tokenDeadline(expires_at);
  std::optional<std::int64_t> expires_unix;
  if (expires_at)
    expires_unix = std::chrono::duration_cast<std::chrono::seconds>(expires_at->time_since_epoch()).count();
  sendText(c, refreshedMessage(expires_unix));
}

void EventLoop::subscribe(Connection& c, const std::string& topic, const std::uint64_t* since, const std::string& epoch,
                          std::optional<SubscriptionFilter> filter, bool confirm, bool read_first) {
  auto state = context_.topics.get(topic);
  const bool wants_position = since != nullptr || confirm;
  if (read_first && context_.sync &&
      (needsBrokerRead(*state, since, confirm) || (wants_position && !context_.mirror_current(topic)))) {
    ResumeSubscribeTask resume{c.id, topic, since ? std::optional(*since) : std::nullopt, epoch, std::move(filter),
                               confirm};
    auto pending = std::make_shared<ResumeSubscribeTask>(std::move(resume));
    context_.sync(state, since ? *since + 1 : 1, [this, pending] { post(std::move(*pending)); });
    return;
  }
  const auto existing = std::find_if(c.subscriptions.begin(), c.subscriptions.end(),
                                     [&](const ClientSubscription& s) { return s.topic == state; });
  if (existing != c.subscriptions.end()) {
    removeSubscription(c, static_cast<std::size_t>(existing - c.subscriptions.begin()));
  } else if (c.subscriptions.size() >= context_.settings.limits.max_subscriptions) {
    sendText(c, errorMessage("too_many_subscriptions", "a connection may hold at most " +
                                                           std::to_string(context_.settings.limits.max_subscriptions) +
                                                           " subscriptions"));
    return;
  }
  auto snapshot = snapshotTopic(*state, since, epoch.empty() ? nullptr : &epoch, loopBit(index_));
  subscribers_[state.get()].push_back(&c);
  c.subscriptions.push_back({state, snapshot.offset, std::move(filter)});
  context_.metrics.subscriptions.fetch_add(1, std::memory_order_relaxed);
  if (confirm) sendText(c, subscribedMessage(topic, snapshot.offset, snapshot.epoch, snapshot.recovered));
  const auto& filter_ref = c.subscriptions.back().filter;
  for (const auto& entry : snapshot.missed) {
    if (filter_ref && !filter_ref->matches(entry.frame->data())) continue;
    if (!enqueue(c, entry.frame)) return;
  }
}

void EventLoop::unsubscribe(Connection& c, const std::string& topic) {
  for (std::size_t i = 0; i < c.subscriptions.size(); ++i) {
    if (c.subscriptions[i].topic->name == topic) {
      removeSubscription(c, i);
      sendText(c, unsubscribedMessage(topic));
      return;
    }
  }
  sendText(c, errorMessage("not_subscribed", "not subscribed to '" + topic + "'"));
}

void EventLoop::removeSubscription(Connection& c, std::size_t index) {
  auto* topic = c.subscriptions[index].topic.get();
  if (const auto it = subscribers_.find(topic); it != subscribers_.end()) {
    auto& list = it->second;
    if (const auto pos = std::find(list.begin(), list.end(), &c); pos != list.end()) {
      *pos = list.back();
      list.pop_back();
    }
    if (list.empty()) {
      subscribers_.erase(it);
      topic->loops_subscribed.fetch_and(~loopBit(index_), std::memory_order_relaxed);
    }
  }
  c.subscriptions.erase(c.subscriptions.begin() + static_cast<std::ptrdiff_t>(index));
  context_.metrics.subscriptions.fetch_sub(1, std::memory_order_relaxed);
}

bool EventLoop::enqueue(Connection& c, FramePtr frame, bool closing) {
  if (c.close_queued || (c.closing && !closing)) return false;
  const auto size = frame->bytes.size();
  const auto limit = context_.settings.limits.outbound_buffer_bytes;
  // Only what the socket refused counts as backlog: before judging a client
  // slow, offer the socket what is queued (unless it already said it is full).
  if (!closing && c.queued_bytes + size > limit && !c.write_armed) {
    flush(c);
    if (c.doomed) return false;
  }
  // An event larger than the whole budget still goes to a client with nothing queued.
  if (!closing && c.queued_bytes > 0 && c.queued_bytes + size > limit) {
    context_.metrics.drop(DropReason::OutboundBufferFull);
    context_.logger->info("closing slow connection id={} queued_bytes={} limit={}", c.id, c.queued_bytes, limit);
    closeWith(c, ws::kClosePolicyViolation, "outbound buffer full: the client reads too slowly");
    return false;
  }
  c.queue.push_back(std::move(frame));
  c.queued_bytes += size;
  c.shared->queued_bytes.store(c.queued_bytes, std::memory_order_relaxed);
  if (!c.dirty) {
    c.dirty = true;
    dirty_.push_back(&c);
  }
  return true;
}

void EventLoop::sendText(Connection& c, std::string_view text) {
  enqueue(c, textFrame(text));
}

void EventLoop::flushDirty() {
  // Index loop: flush() may doom a connection but never adds to dirty_.
  for (std::size_t i = 0; i < dirty_.size(); ++i) {
    auto* c = dirty_[i];
    c->dirty = false;
    if (!c->doomed && !c->write_armed) flush(*c);
  }
  dirty_.clear();
}

void EventLoop::flush(Connection& c) {
  const auto now = Clock::now();
  while (c.head < c.queue.size()) {
    ssize_t written = 0;
    if (c.tls) {
      const auto& bytes = c.queue[c.head]->bytes;
      try {
        written = c.socket.sendBytes(bytes.data() + c.head_written, static_cast<int>(bytes.size() - c.head_written));
        if (written < 0) {
          written = -1;
          errno = EAGAIN;
        }
      } catch (const Poco::Exception&) {
        written = -1;
        errno = EPIPE;
      }
    } else {
      iovec iov[kMaxIov];
      std::size_t count = 0;
      for (auto i = c.head; i < c.queue.size() && count < kMaxIov; ++i, ++count) {
        const auto& bytes = c.queue[i]->bytes;
        const auto skip = i == c.head ? c.head_written : 0;
        iov[count].iov_base = const_cast<char*>(bytes.data() + skip);
        iov[count].iov_len = bytes.size() - skip;
      }
      written = ::writev(c.fd, iov, static_cast<int>(count));
    }
    if (written < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        setWriteInterest(c, true);
        return;
      }
      if (errno == EINTR) continue;
      if (!c.closing) context_.metrics.closed(1006);
      doom(c);
      return;
    }
    counters_.add(counters_.bytes_out, static_cast<std::uint64_t>(written));
    auto remaining = static_cast<std::size_t>(written);
    while (remaining > 0) {
      const auto& frame = *c.queue[c.head];
      const auto left = frame.bytes.size() - c.head_written;
      if (remaining < left) {
        c.head_written += remaining;
        remaining = 0;
        break;
      }
      remaining -= left;
      c.queued_bytes -= frame.bytes.size();
      if (frame.published.time_since_epoch().count() != 0) {
        counters_.observeLatency(static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(now - frame.published).count()));
      }
      c.queue[c.head].reset();
      ++c.head;
      c.head_written = 0;
    }
  }
  c.queue.clear();
  c.head = 0;
  if (c.queue.capacity() > 1024) std::vector<FramePtr>().swap(c.queue);
  c.shared->queued_bytes.store(c.queued_bytes, std::memory_order_relaxed);
  setWriteInterest(c, false);
  if (c.closing && !c.write_shut) shutWrite(c);
}

void EventLoop::setWriteInterest(Connection& c, bool want) {
  if (c.write_armed == want) return;
  c.write_armed = want;
  epoll_event event{};
  event.events = EPOLLIN | EPOLLRDHUP | (want ? std::uint32_t{EPOLLOUT} : 0u);
  event.data.ptr = &c;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &event);
}

void EventLoop::closeWith(Connection& c, std::uint16_t code, std::string_view reason) {
  if (c.closing) return;
  c.closing = true;
  c.close_deadline = Clock::now() + kCloseGrace;
  context_.metrics.closed(code);
  // What is not yet started is dropped; a frame half written must be finished
  // or the close frame would land in the middle of it.
  const auto keep = c.head + (c.head_written > 0 ? 1 : 0);
  for (auto i = keep; i < c.queue.size(); ++i) c.queued_bytes -= c.queue[i]->bytes.size();
  c.queue.resize(keep);
  enqueue(c, controlFrame(ws::encodeClose(code, reason)), true);
  c.close_queued = true;  // nothing may follow the close frame
  c.shared->closed = true;
}

void EventLoop::shutWrite(Connection& c) {
  // The close frame is out; shut our side and give the peer a moment to close
  // its own, so the frame is not lost to a reset.
  c.write_shut = true;
  if (c.tls) {
    doom(c);
    return;
  }
  ::shutdown(c.fd, SHUT_WR);
}

void EventLoop::doom(Connection& c) {
  if (c.doomed) return;
  c.doomed = true;
  doomed_.push_back(&c);
}

void EventLoop::destroyDoomed() {
  for (auto* c : doomed_) {
    while (!c->subscriptions.empty()) removeSubscription(*c, c->subscriptions.size() - 1);
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
    c->shared->closed = true;
    if (c->endpoint && c->endpoint->on_close) c->endpoint->on_close(c->id);
    try {
      c->socket.close();
    } catch (const Poco::Exception&) {
    }
    context_.on_closed(*c);
    connections_.erase(c->id);  // may free *c: last use above
  }
  doomed_.clear();
}

void EventLoop::heartbeat(Clock::time_point now) {
  const auto interval = std::chrono::seconds(context_.settings.heartbeat_interval_seconds);
  for (auto& [id, connection] : connections_) {
    auto& c = *connection;
    if (c.doomed) continue;
    if (c.closing) {
      if (now >= c.close_deadline) doom(c);
      continue;
    }
    if (c.token_deadline && now >= *c.token_deadline) {
      closeWith(c, ws::kCloseTokenExpired, "token expired: reconnect with a fresh token (and since to resume)");
    } else if (now - c.last_seen >= 2 * interval) {
      closeWith(c, ws::kCloseGoingAway, "heartbeat timeout: no frame from the client for two intervals");
    } else if (now - c.last_ping >= interval) {
      c.last_ping = now;
      enqueue(c, controlFrame(ws::encodeFrame(ws::Opcode::Ping, {})));
    }
  }
  flushDirty();
}

}  // namespace eventnode::core
