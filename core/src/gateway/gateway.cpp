#include "gateway/gateway.hpp"

#include "gateway/client_protocol.hpp"
#include "gateway/utf8.hpp"

#include <cassert>
#include <optional>

namespace eventnode::core {
namespace {

constexpr auto kSweepInterval = std::chrono::seconds(60);
constexpr auto kTopicIdle = std::chrono::minutes(10);

plugin::PublishResult refused(std::string reason) {
  return {plugin::PublishStatus::Refused, 0, std::move(reason)};
}

std::optional<plugin::PublishResult> checkTopic(const std::string& topic) {
  if (isValidTopic(topic)) return std::nullopt;
  return refused("invalid topic '" + topic.substr(0, 64) + "': " + kTopicNameRule);
}

}  // namespace

plugin::TopicAccess parseTopicAccess(const std::string& name) {
  using plugin::TopicAccess;
  if (name == "public") return TopicAccess::Public;
  if (name == "authenticated") return TopicAccess::Authenticated;
  if (name == "user") return TopicAccess::User;
  if (name == "admin") return TopicAccess::Admin;
  return TopicAccess::Deny;
}

Gateway::Gateway(const NodeConfig& config, EventBus& bus, Scheduler& scheduler, LogRegistry& logs)
    : config_(config),
      bus_(bus),
      scheduler_(scheduler),
      logger_(logs.get("core.gateway")),
      topics_(rules_),
      metrics_(static_cast<std::size_t>(config.server.io_threads)),
      context_{config.server, config.node.id, rules_, topics_, metrics_, logger_, [this](const Connection& connection) {
                 onClosed(connection);
               }} {
  for (const auto& topic : config.topics) {
    rules_.add({topic.pattern, parseTopicAccess(topic.access),
                HistoryPolicy{topic.history_size, std::chrono::seconds(topic.history_ttl_seconds)}, "node.yaml"});
  }
  if (config.broker.type == "redis") {
    RedisBrokerSettings settings;
    for (const auto& url : config.broker.redis_urls) {
      std::string error;
      auto endpoint = parseRedisUrl(url, error);
      if (!endpoint) throw std::invalid_argument("broker.redis: " + error);  // node.yaml's checks said so first
      if (endpoint->password.empty()) endpoint->password = config.broker.redis_password;
      settings.shards.push_back(std::move(*endpoint));
    }
    settings.prefix = config.broker.prefix;
    settings.timeout = config.broker.timeout;
    settings.heartbeat_ttl = config.broker.heartbeat_ttl;
    broker_ = std::make_unique<RedisBroker>(std::move(settings), static_cast<BrokerSink&>(*this), logs.get("core.broker"));
    local_bus_topics_ = config.broker.local_bus_topics;
    topics_.positionsFromBroker();
    context_.mirror_current = [this](const std::string& topic) { return broker_->hearing(topic); };
    context_.sync = [this](std::shared_ptr<TopicState> state, std::uint64_t from, std::function<void()> done) {
      // Past the cap the subscribe is answered from this process's mirror at once (recovered:false where it
      // cannot tell), rather than queue without bound behind Redis.
      if (!sync_worker_.post([this, state, from, done] { syncTopic(state, from, done); })) done();
    };
  }
  for (int i = 0; i < config.server.io_threads; ++i) {
    loops_.push_back(std::make_unique<EventLoop>(static_cast<std::size_t>(i), context_));
  }
}

Gateway::~Gateway() {
  stop();
}

void Gateway::addTopicRule(plugin::TopicRule rule, const std::string& owner) {
  rules_.add({std::move(rule.pattern), rule.access,
              HistoryPolicy{rule.history_size, std::chrono::seconds(rule.history_ttl_seconds)}, owner});
}

void Gateway::addEndpoint(plugin::WebSocketEndpoint endpoint, const std::string& owner) {
  const auto path = endpoint.path;
  if (frozen_)
    throw std::logic_error("WebSocket endpoint " + path + " from " + owner + " added after start(); add it in start()");
  if (path.empty() || path.front() != '/' || path == "/ws") {
    throw std::logic_error("WebSocket endpoint '" + path + "' from " + owner +
                           ": the path must start with / and not be /ws");
  }
  if (endpoints_.count(path))
    throw std::logic_error("WebSocket endpoint " + path + " from " + owner + " is already taken");
  endpoints_.emplace(path, std::move(endpoint));
  endpoint_owners_.emplace(path, owner);
}

void Gateway::freeze() {
  frozen_ = true;
  rules_.freeze();
}

const plugin::WebSocketEndpoint* Gateway::findEndpoint(const std::string& path) const {
  const auto it = endpoints_.find(path);
  return it == endpoints_.end() ? nullptr : &it->second;
}

void Gateway::start() {
  if (started_) return;
  started_ = true;
  for (auto& loop : loops_) loop->start();
  sweep_task_ = scheduler_.schedule(kSweepInterval, kSweepInterval, [this] { topics_.sweep(kTopicIdle); });
  if (broker_) {
    broker_->start();
    const auto beat = std::max<std::chrono::milliseconds>(config_.broker.heartbeat_ttl / 3, std::chrono::seconds(1));
    heartbeat_task_ = scheduler_.schedule(std::chrono::milliseconds(0), beat,
                                          [this] { broker_->heartbeat(config_.node.id, describeServer()); });
  }
  logger_->info("gateway started io_threads={} max_connections={}", loops_.size(),
                config_.server.limits.max_connections);
}

void Gateway::stop() {
  if (!started_) return;
  started_ = false;
  scheduler_.cancel(sweep_task_);
  if (broker_) {
    scheduler_.cancel(heartbeat_task_);
    broker_->forgetServer(config_.node.id);
    sync_worker_.stop();
    broker_->stop();
  }
  for (auto& loop : loops_) loop->post(ShutdownTask{});
  for (auto& loop : loops_) loop->stop();
  logger_->info("gateway stopped");
}

plugin::PublishResult Gateway::publish(const std::string& topic, const plugin::Json& data,
                                       const std::string& idempotency_key) {
  if (auto refusal = checkTopic(topic)) return *refusal;
  // Serialized once, outside the topic's lock; invalid UTF-8 in strings is replaced rather than refused.
  auto result =
      publishToClients(topic, data.dump(-1, ' ', false, plugin::Json::error_handler_t::replace), idempotency_key);
  // With Redis, every process's bus (this one's included) gets it from Redis.
  if (result.accepted() && !broker_) bus_.publish(topic, data);
  return result;
}

std::vector<plugin::PublishResult> Gateway::publishMany(const std::vector<BatchItem>& items) {
  std::vector<plugin::PublishResult> results(items.size());
  if (!broker_) {
    for (std::size_t i = 0; i < items.size(); ++i)
      results[i] = publish(items[i].topic, items[i].data, items[i].idempotency_key);
    return results;
  }
  const auto user_limit = config_.server.limits.user_events_per_minute;
  std::vector<std::optional<RedisBroker::Pending>> pending(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& item = items[i];
    if (auto refusal = checkTopic(item.topic)) {
      results[i] = *refusal;
      continue;
    }
    if (user_limit > 0 && item.topic.rfind("user:", 0) == 0) {
      results[i] = publish(item.topic, item.data, item.idempotency_key);  // counted against the limit one by one
      continue;
    }
    const auto state = topics_.get(item.topic);
    try {
      pending[i] = broker_->publishAsync(item.topic,
                                         item.data.dump(-1, ' ', false, plugin::Json::error_handler_t::replace),
                                         state->policy.size, state->policy.ttl, true, item.idempotency_key);
    } catch (const BrokerUnavailable& error) {
      metrics_.drop(DropReason::BrokerUnavailable);
      results[i] = {plugin::PublishStatus::Unavailable, 0, error.what()};
    }
  }
  broker_->kickAll();
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!pending[i]) continue;
    try {
      results[i] = {plugin::PublishStatus::Accepted, broker_->finish(*pending[i]).offset, {}};
      metrics_.events_published.fetch_add(1, std::memory_order_relaxed);
    } catch (const BrokerUnavailable& error) {
      metrics_.drop(DropReason::BrokerUnavailable);
      results[i] = {plugin::PublishStatus::Unavailable, 0, error.what()};
    }
  }
  return results;
}

plugin::PublishResult Gateway::publishText(const std::string& topic, std::string_view json_text) {
  if (auto refusal = checkTopic(topic)) return *refusal;
  if (!isValidUtf8(json_text)) return refused("event data for topic '" + topic.substr(0, 64) + "' is not valid UTF-8");
  // Parsed before any client sees the event, so text that is not JSON is refused whole.
  std::optional<plugin::Json> parsed;
  if (broker_) {
    // Every process parses it for its own bus when it arrives from Redis: checked here, before anyone gets it.
    if (!plugin::Json::accept(json_text))
      return refused("event data for topic '" + topic.substr(0, 64) + "' is not one JSON value");
  } else if (bus_.hasSubscriber(topic)) {
    auto read = plugin::readJson(json_text);
    if (!read.ok()) return refused("event data for topic '" + topic.substr(0, 64) + "' is refused: " + read.error);
    parsed = std::move(read.value);
  } else {
    assert(plugin::Json::accept(json_text) && "publishText needs one JSON value");
  }
  auto result = publishToClients(topic, json_text);
  if (result.accepted() && parsed) bus_.publish(topic, *parsed);
  return result;
}

plugin::PublishResult Gateway::publishToBus(const std::string& topic, const plugin::Json& data) {
  if (auto refusal = checkTopic(topic)) return *refusal;
  if (broker_ && !isLocalBusTopic(topic)) {
    try {
      broker_->publishBus(topic, data.dump(-1, ' ', false, plugin::Json::error_handler_t::replace));
    } catch (const BrokerUnavailable& error) {
      return {plugin::PublishStatus::Unavailable, 0, error.what()};
    }
    return {};
  }
  bus_.publish(topic, data);
  return {};
}

bool Gateway::withinUserLimit(TopicState& state, std::chrono::steady_clock::time_point now) {
  if (now - state.window_start >= std::chrono::minutes(1)) {
    state.window_start = now;
    state.window_count = 0;
  }
  return ++state.window_count <= config_.server.limits.user_events_per_minute;
}

void Gateway::record(const std::shared_ptr<TopicState>& topic, std::uint64_t offset, bool live,
                     std::string_view data_text, std::chrono::steady_clock::time_point now) {
  auto& state = *topic;
  auto frame = eventFrame(state.name, offset, data_text, now);
  state.last_publish = now;
  if (state.policy.size > 0) {
    state.history.push_back({offset, now, frame});
    state.trim(now);
  }
  const auto subscribed = state.loops_subscribed.load(std::memory_order_relaxed);
  const auto post = [&](const FramePtr& what, std::uint64_t at) {
    for (std::size_t i = 0; i < loops_.size(); ++i) {
      if (i >= kTrackedLoops || (subscribed & loopBit(i)) != 0) loops_[i]->post(DeliverTask{topic, at, what});
    }
  };
  if (live) {
    // Handed to the loops under the topic's lock, so every loop sees this
    // topic's events in offset order; only loops with a subscriber are woken.
    post(frame, offset);
    return;
  }
  // Over the user's limit: kept in history, not delivered now. The user's
  // connections are told once a minute where to fetch what they missed.
  if (now - state.kept_notice_at < std::chrono::minutes(1) && state.kept_notice_at.time_since_epoch().count() != 0)
    return;
  state.kept_notice_at = now;
  auto notice = std::make_shared<OutboundFrame>();
  notice->bytes = ws::encodeFrame(
      ws::Opcode::Text,
      errorMessage("user_rate_limited",
                   "more than " + std::to_string(config_.server.limits.user_events_per_minute) +
                       " events a minute for " + state.name + ": the rest of this minute's are kept in history, "
                       "not sent; subscribe to " + state.name + " with since=" + std::to_string(offset - 1) +
                       " to fetch them"));
  post(notice, 0);
}

FramePtr Gateway::eventFrame(const std::string& topic, std::uint64_t offset, std::string_view data_text,
                             std::chrono::steady_clock::time_point now) {
  auto frame = std::make_shared<OutboundFrame>();
  frame->bytes = ws::encodeFrame(ws::Opcode::Text, eventMessage(topic, offset, data_text));
  // The message ends with the data and its closing brace.
  frame->data_at = frame->bytes.size() - 1 - data_text.size();
  frame->data_size = data_text.size();
  frame->published = now;
  return frame;
}

void Gateway::publishToLocalBus(const std::string& topic, std::string_view data_text) {
  if (!bus_.hasSubscriber(topic)) return;
  auto parsed = plugin::readJson(data_text);
  if (parsed.ok()) bus_.publish(topic, parsed.value);
}

plugin::PublishResult Gateway::publishToClients(const std::string& topic, std::string_view data_text,
                                                const std::string& idempotency_key) {
  const auto state = topics_.get(topic);
  const auto user_limit = config_.server.limits.user_events_per_minute;
  const bool limited = user_limit > 0 && topic.rfind("user:", 0) == 0;
  const auto now = std::chrono::steady_clock::now();
  bool live = true;
  std::uint64_t offset = 0;
  if (broker_) {
    if (limited) {
      std::lock_guard lock(state->mutex);
      live = withinUserLimit(*state, now);
    }
    // Offset, history and delivery happen in Redis; this process's clients
    // get it back through the subscriber, like every other process's.
    try {
      offset = broker_->publish(topic, data_text, state->policy.size, state->policy.ttl, live, idempotency_key).offset;
    } catch (const BrokerUnavailable& error) {
      metrics_.drop(DropReason::BrokerUnavailable);
      return {plugin::PublishStatus::Unavailable, 0, error.what()};
    }
  } else {
    std::lock_guard lock(state->mutex);
    if (limited) live = withinUserLimit(*state, now);
    offset = ++state->offset;
    record(state, offset, live, data_text, now);
  }
  if (!live) {
    metrics_.drop(DropReason::UserRateLimited);
    return {plugin::PublishStatus::RateLimited, offset,
            "more than " + std::to_string(user_limit) + " events a minute for " + topic.substr(0, 64) +
                " (server.limits.user_events_per_minute): kept in history at offset " + std::to_string(offset) +
                ", not delivered live"};
  }
  metrics_.events_published.fetch_add(1, std::memory_order_relaxed);
  return {plugin::PublishStatus::Accepted, offset, {}};
}

std::optional<AdmissionRefusal> Gateway::admit(const std::string& ip) {
  std::lock_guard lock(registry_mutex_);
  const auto& limits = config_.server.limits;
  if (admitted_ >= limits.max_connections) {
    metrics_.drop(DropReason::TooManyConnections);
    return AdmissionRefusal{
        503, "too_many_connections",
        "the node holds its maximum of " + std::to_string(limits.max_connections) + " connections; retry later"};
  }
  auto& per_ip = per_ip_[ip];
  if (per_ip >= limits.max_connections_per_ip) {
    metrics_.drop(DropReason::TooManyPerIp);
    return AdmissionRefusal{
        503, "too_many_connections_per_ip",
        "this address holds its maximum of " + std::to_string(limits.max_connections_per_ip) + " connections"};
  }
  ++per_ip;
  ++admitted_;
  return std::nullopt;
}

void Gateway::release(const std::string& ip) {
  std::lock_guard lock(registry_mutex_);
  --admitted_;
  if (const auto it = per_ip_.find(ip); it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
}

plugin::ConnectionId Gateway::adopt(Poco::Net::StreamSocket socket, bool tls, plugin::Identity identity, std::string ip,
                                    const plugin::WebSocketEndpoint* endpoint,
                                    std::vector<std::string> requested_topics,
                                    std::optional<std::chrono::steady_clock::time_point> token_deadline) {
  const auto id = next_id_.fetch_add(1);
  auto connection = std::make_shared<Connection>(id, std::move(socket), config_.server.limits.max_message_bytes);
  connection->tls = tls;
  connection->identity = std::move(identity);
  connection->remote_ip = std::move(ip);
  connection->token_deadline = token_deadline;
  connection->endpoint = endpoint;
  if (endpoint) connection->shared->owner = endpoint_owners_.at(endpoint->path);
  std::vector<std::string> automatic;
  if (!endpoint) {
    automatic.push_back("broadcast");
    if (connection->identity.authenticated && isValidTopic("user:" + connection->identity.user)) {
      automatic.push_back("user:" + connection->identity.user);
    }
    if (connection->identity.isAdmin()) automatic.push_back("admins");
    // With several servers, each connection also hears what is meant for its server alone.
    if (broker_) automatic.push_back("server:" + config_.node.id);
  }
  {
    std::lock_guard lock(registry_mutex_);
    connections_[id] = connection->shared;
    if (connection->identity.authenticated) ++users_[connection->identity.user];
  }
  metrics_.connections.fetch_add(1);
  metrics_.connections_total.fetch_add(1);
  loopFor(id).post(AdoptTask{std::move(connection), std::move(automatic), std::move(requested_topics)});
  return id;
}

void Gateway::onClosed(const Connection& connection) {
  metrics_.connections.fetch_sub(1);
  std::lock_guard lock(registry_mutex_);
  connections_.erase(connection.id);
  --admitted_;
  if (const auto it = per_ip_.find(connection.remote_ip); it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
  if (connection.identity.authenticated) {
    if (const auto it = users_.find(connection.identity.user); it != users_.end() && --it->second == 0)
      users_.erase(it);
  }
}

std::shared_ptr<ConnectionShared> Gateway::ownedConnection(plugin::ConnectionId id, const std::string& owner) const {
  std::lock_guard lock(registry_mutex_);
  const auto it = connections_.find(id);
  if (it == connections_.end() || it->second->owner != owner) return nullptr;
  return it->second;
}

plugin::SendStatus Gateway::send(plugin::ConnectionId id, std::string_view text, const std::string& owner) {
  std::shared_ptr<ConnectionShared> shared;
  {
    std::lock_guard lock(registry_mutex_);
    const auto it = connections_.find(id);
    if (it == connections_.end()) return plugin::SendStatus::Closed;
    if (it->second->owner != owner) return plugin::SendStatus::Refused;
    shared = it->second;
  }
  if (shared->closed.load()) return plugin::SendStatus::Closed;
  return queueFrame(id, *shared, textFrame(text));
}

std::size_t Gateway::sendMany(const std::vector<plugin::ConnectionId>& ids, std::string_view text,
                              const std::string& owner) {
  FramePtr frame;  // framed once, on the first connection that takes it
  std::size_t queued = 0;
  for (const auto id : ids) {
    const auto shared = ownedConnection(id, owner);
    if (!shared || shared->closed.load()) continue;
    if (!frame) frame = textFrame(text);
    if (queueFrame(id, *shared, frame) == plugin::SendStatus::Ok) ++queued;
  }
  return queued;
}

FramePtr Gateway::textFrame(std::string_view text) {
  auto frame = std::make_shared<OutboundFrame>();
  frame->bytes = ws::encodeFrame(ws::Opcode::Text, text);
  return frame;
}

plugin::SendStatus Gateway::queueFrame(plugin::ConnectionId id, const ConnectionShared& shared, FramePtr frame) {
  const bool over = shared.queued_bytes.load(std::memory_order_relaxed) + frame->bytes.size() >
                    config_.server.limits.outbound_buffer_bytes;
  loopFor(id).post(SendTask{id, std::move(frame)});
  return over ? plugin::SendStatus::Backpressure : plugin::SendStatus::Ok;
}

bool Gateway::close(plugin::ConnectionId id, std::uint16_t code, std::string reason, const std::string& owner) {
  if (!ownedConnection(id, owner)) return false;
  loopFor(id).post(CloseTask{id, code, std::move(reason)});
  return true;
}

plugin::Json Gateway::stats() const {
  std::lock_guard lock(registry_mutex_);
  return {{"total_connections", connections_.size()},
          {"active_users", users_.size()},
          {"subscriptions", metrics_.subscriptions.load()},
          {"topics", topics_.size()},
          {"server_id", config_.node.id}};
}

}  // namespace eventnode::core
