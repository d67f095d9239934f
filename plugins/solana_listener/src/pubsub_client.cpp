#include "pubsub_client.hpp"

#include <eventnode/plugin/backoff.hpp>

#include <Poco/Buffer.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/WebSocket.h>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <stdexcept>

namespace eventnode::plugins::solana_listener {

using plugin::Json;
using Clock = std::chrono::steady_clock;
using Poco::Net::WebSocket;

namespace {

constexpr int kPingFlags = static_cast<int>(WebSocket::FRAME_FLAG_FIN) | static_cast<int>(WebSocket::FRAME_OP_PING);
constexpr int kPongFlags = static_cast<int>(WebSocket::FRAME_FLAG_FIN) | static_cast<int>(WebSocket::FRAME_OP_PONG);
// How often the loop looks at the clock when nothing arrives.
constexpr auto kPollSlice = std::chrono::milliseconds(200);

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Poco::Timespan span(std::chrono::milliseconds duration) {
  return Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(duration).count());
}

}  // namespace

PubSubClient::PubSubClient(PubSubConfig config, std::shared_ptr<spdlog::logger> logger, Connected on_connected)
    : config_(std::move(config)),
      target_(parseTarget(config_.url, "ws_url")),
      logger_(std::move(logger)),
      on_connected_(std::move(on_connected)) {
  target_.ca_file = config_.tls_ca_file;
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::runtime_error("eventfd failed");
}

PubSubClient::~PubSubClient() {
  stop();
  ::close(wake_fd_);
}

void PubSubClient::wake() {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto written = ::write(wake_fd_, &one, sizeof one);
}

void PubSubClient::start() {
  std::lock_guard lock(mutex_);
  if (running_) return;
  running_ = true;
  thread_ = std::thread([this] { run(); });
}

void PubSubClient::stop() {
  {
    std::lock_guard lock(mutex_);
    if (!running_ && !thread_.joinable()) return;
    running_ = false;
  }
  stopped_.notify_all();
  wake();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t PubSubClient::subscribe(std::string method, Json params, std::string unsubscribe_method,
                                      Handler handler, bool one_shot) {
  std::uint64_t handle;
  {
    std::lock_guard lock(mutex_);
    handle = next_handle_++;
    subscriptions_[handle] = {std::move(method), std::move(params), std::move(unsubscribe_method),
                              std::make_shared<const Handler>(std::move(handler)), one_shot, std::nullopt};
    to_subscribe_.push_back(handle);
  }
  wake();
  return handle;
}

void PubSubClient::unsubscribe(std::uint64_t handle) {
  {
    std::lock_guard lock(mutex_);
    auto it = subscriptions_.find(handle);
    if (it == subscriptions_.end()) return;
    if (it->second.server_id) {
      by_server_id_.erase(*it->second.server_id);
      if (connected_) to_unsubscribe_.emplace_back(it->second.unsubscribe_method, *it->second.server_id);
    }
    subscriptions_.erase(it);
  }
  wake();
}

Json PubSubClient::status() const {
  std::lock_guard lock(mutex_);
  return Json{{"url", config_.url},
              {"connected", connected_},
              {"since", connected_since_ ? Json(*connected_since_) : Json(nullptr)},
              {"reconnects", reconnects_},
              {"last_error", last_error_.empty() ? Json(nullptr) : Json(last_error_)},
              {"subscriptions", subscriptions_.size()},
              {"notifications", notifications_},
              {"malformed", malformed_}};
}

bool PubSubClient::waitBeforeRedial(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  stopped_.wait_for(lock, delay, [&] { return !running_; });
  return running_;
}

void PubSubClient::run() {
  // Full jitter: anywhere from 0 to the exponential step, so a fleet of
  // listeners does not redial a recovering node in lockstep.
  plugin::Backoff backoff({.min = config_.backoff_min, .max = config_.backoff_max, .full_jitter = true});
  std::string last_logged_error;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (!running_) return;
    }
    std::string error;
    try {
      auto session = openSession(target_, config_.dial_timeout);
      Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, target_.path, Poco::Net::HTTPMessage::HTTP_1_1);
      Poco::Net::HTTPResponse response;
      WebSocket socket(*session, request, response);
      socket.setMaxPayloadSize(static_cast<int>(config_.max_message_bytes));
      socket.setNoDelay(true);
      {
        std::lock_guard lock(mutex_);
        connected_ = true;
        announced_ = false;
        connected_since_ = unixNow();
        // Old subscription ids died with the old socket: ask again for all.
        by_server_id_.clear();
        requests_.clear();
        to_unsubscribe_.clear();
        to_subscribe_.clear();
        for (auto& [handle, subscription] : subscriptions_) {
          subscription.server_id.reset();
          to_subscribe_.push_back(handle);
        }
      }
      logger_->info("pubsub connected url={}", config_.url);
      backoff.reset();
      serve(socket);
    } catch (const Poco::Exception& e) {
      error = e.displayText();
    } catch (const std::exception& e) {
      error = e.what();
    }
    bool running;
    {
      std::lock_guard lock(mutex_);
      running = running_;
      const bool was_connected = connected_;
      connected_ = false;
      connected_since_.reset();
      if (running) {
        last_error_ = error;
        ++reconnects_;
      }
      if (running) {
        if (was_connected) {
          logger_->warn("pubsub disconnected url={} reason=\"{}\"", config_.url, error);
        } else if (error != last_logged_error) {
          // A node that stays down fails the same way on every redial: warn once, then debug.
          logger_->warn("pubsub dial failed url={} reason=\"{}\"", config_.url, error);
        } else {
          logger_->debug("pubsub dial failed again url={} reason=\"{}\"", config_.url, error);
        }
        last_logged_error = was_connected ? std::string() : error;
      }
    }
    if (!running || !waitBeforeRedial(backoff.next())) return;
  }
}

void PubSubClient::sendText(WebSocket& socket, const std::string& text) {
  socket.sendFrame(text.data(), static_cast<int>(text.size()), WebSocket::FRAME_TEXT);
}

void PubSubClient::sendPending(WebSocket& socket) {
  std::vector<std::string> frames;
  {
    std::lock_guard lock(mutex_);
    for (const auto handle : to_subscribe_) {
      auto it = subscriptions_.find(handle);
      if (it == subscriptions_.end()) continue;
      const auto id = next_request_++;
      requests_[id] = {handle, true};
      frames.push_back(
          Json{{"jsonrpc", "2.0"}, {"id", id}, {"method", it->second.method}, {"params", it->second.params}}.dump());
    }
    to_subscribe_.clear();
    for (const auto& [method, server_id] : to_unsubscribe_) {
      const auto id = next_request_++;
      requests_[id] = {0, false};
      frames.push_back(Json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", {server_id}}}.dump());
    }
    to_unsubscribe_.clear();
  }
  for (const auto& frame : frames) sendText(socket, frame);
}

void PubSubClient::serve(WebSocket& socket) {
  Poco::Buffer<char> frame(0);
  std::string message;
  auto last_ping = Clock::now();
  std::optional<Clock::time_point> ping_outstanding;
  // A frame that has started must arrive whole within the pong timeout;
  // waiting for the next one happens in poll() below, where stop() can reach us.
  socket.setReceiveTimeout(span(config_.pong_timeout));
  socket.setSendTimeout(span(config_.pong_timeout));
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (!running_) {
        socket.shutdown();
        return;
      }
    }
    sendPending(socket);
    bool announce = false;
    {
      std::lock_guard lock(mutex_);
      if (!announced_ && requests_.empty() && to_subscribe_.empty()) {
        announced_ = true;
        announce = true;
      }
    }
    if (announce && on_connected_) on_connected_();

    const auto now = Clock::now();
    if (ping_outstanding && now - *ping_outstanding > config_.pong_timeout) {
      throw std::runtime_error("no pong within " + std::to_string(config_.pong_timeout.count()) + " ms");
    }
    if (!ping_outstanding && now - last_ping >= config_.ping_interval) {
      socket.sendFrame("eventnode", 9, kPingFlags);
      last_ping = now;
      ping_outstanding = now;
    }

    // available() also counts bytes the upgrade read ahead into the socket's own buffer.
    if (socket.available() <= 0) {
      pollfd fds[2] = {{socket.impl()->sockfd(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      if (::poll(fds, 2, static_cast<int>(kPollSlice.count())) <= 0) continue;
      if (fds[1].revents) {
        std::uint64_t count;
        [[maybe_unused]] auto drained = ::read(wake_fd_, &count, sizeof count);
      }
      if (!fds[0].revents) continue;
    }

    int flags = 0;
    frame.resize(0);
    const int size = socket.receiveFrame(frame, flags);
    const int opcode = flags & WebSocket::FRAME_OP_BITMASK;
    if (size == 0 && flags == 0) throw std::runtime_error("connection closed by the node");
    if (opcode == WebSocket::FRAME_OP_CLOSE) throw std::runtime_error("the node closed the socket");
    if (opcode == WebSocket::FRAME_OP_PING) {
      socket.sendFrame(frame.begin(), size, kPongFlags);
      continue;
    }
    if (opcode == WebSocket::FRAME_OP_PONG) {
      ping_outstanding.reset();
      continue;
    }
    message.append(frame.begin(), static_cast<std::size_t>(size));
    if (message.size() > config_.max_message_bytes) {
      throw std::runtime_error("a message larger than max_message_bytes (" +
                               std::to_string(config_.max_message_bytes) + ")");
    }
    if (!(flags & WebSocket::FRAME_FLAG_FIN)) continue;  // a fragment: wait for the rest
    handleText(message);
    message.clear();
  }
}

void PubSubClient::handleText(const std::string& text) {
  const auto read = plugin::readJson(text);
  const auto& message = read.value;
  const auto malformed = [&](const char* why) {
    std::lock_guard lock(mutex_);
    ++malformed_;
    logger_->warn("pubsub malformed message reason=\"{}\" bytes={}", why, text.size());
  };
  if (!read.ok() || !message.is_object()) return malformed("not a JSON object");

  if (const auto id = message.find("id"); id != message.end() && !id->is_null()) {
    if (!id->is_number_unsigned()) return malformed("a response id this client never sent");
    std::lock_guard lock(mutex_);
    auto request = requests_.find(id->get<std::uint64_t>());
    if (request == requests_.end()) return;
    const auto [handle, subscribing] = request->second;
    requests_.erase(request);
    if (!subscribing) return;
    auto subscription = subscriptions_.find(handle);
    const auto result = message.find("result");
    if (result == message.end() || !result->is_number_integer()) {
      const auto error = message.contains("error") ? message["error"].dump() : std::string("no subscription id");
      logger_->error("pubsub subscription refused method={} error={}",
                     subscription == subscriptions_.end() ? "?" : subscription->second.method, error);
      return;
    }
    if (subscription == subscriptions_.end()) {
      // Unsubscribed while the request was in flight. Its notifications are
      // dropped (no handle maps to the id); the node keeps the subscription
      // until this socket ends. Only signature watches settle this early, and
      // the node ends those by itself after their one notification.
      return;
    }
    subscription->second.server_id = result->get<std::int64_t>();
    by_server_id_[*subscription->second.server_id] = handle;
    return;
  }

  const auto params = message.find("params");
  if (params == message.end() || !params->is_object() || !params->contains("subscription") ||
      !(*params)["subscription"].is_number_integer() || !params->contains("result")) {
    return malformed("a notification without params.subscription and params.result");
  }
  std::shared_ptr<const Handler> handler;
  {
    std::lock_guard lock(mutex_);
    ++notifications_;
    auto found = by_server_id_.find((*params)["subscription"].get<std::int64_t>());
    if (found == by_server_id_.end()) return;  // a subscription just ended
    auto subscription = subscriptions_.find(found->second);
    if (subscription == subscriptions_.end()) return;
    handler = subscription->second.handler;
    if (subscription->second.one_shot) {
      by_server_id_.erase(found);
      subscriptions_.erase(subscription);
    }
  }
  try {
    (*handler)((*params)["result"]);
  } catch (const std::exception& e) {
    logger_->error("pubsub notification handler failed: {}", e.what());
  }
}

}  // namespace eventnode::plugins::solana_listener
