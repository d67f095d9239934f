#include "broker/redis_broker.hpp"

#include "broker/redis_scripts.hpp"
#include "broker/shard_hash.hpp"
#include "gateway/topic_registry.hpp"

namespace eventnode::core {
namespace {

std::uint64_t toOffset(const RedisReply& reply) {
  if (reply.type == RedisReply::Type::Integer) return static_cast<std::uint64_t>(reply.integer);
  if (reply.type == RedisReply::Type::String) return std::stoull(reply.str);
  return 0;
}

/// An XRANGE entry: {"<offset>-0", {"d", data, "l", "1"}}.
BrokerEntry toEntry(const RedisReply& item) {
  BrokerEntry entry;
  if (item.elements.size() != 2) return entry;
  entry.offset = std::stoull(item.elements[0].str);
  const auto& fields = item.elements[1].elements;
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i].str == "d") entry.data = fields[i + 1].str;
    if (fields[i].str == "l") entry.live = fields[i + 1].str != "0";
  }
  return entry;
}

}  // namespace

RedisBroker::RedisBroker(RedisBrokerSettings settings, BrokerSink& sink, std::shared_ptr<spdlog::logger> logger)
    : settings_(std::move(settings)), logger_(std::move(logger)) {
  for (std::size_t i = 0; i < settings_.shards.size(); ++i) {
    shards_.push_back(std::make_unique<RedisShard>(
        i, settings_.shards[i], RedisShardSettings{settings_.prefix, settings_.timeout}, sink, logger_));
  }
}

RedisBroker::~RedisBroker() {
  stop();
}

void RedisBroker::start() {
  for (auto& shard : shards_) shard->start();
}

void RedisBroker::stop() {
  for (auto& shard : shards_) shard->stop();
}

std::size_t RedisBroker::shardOf(const std::string& topic) const {
  return core::shardOf(topic, shards_.size());
}

BrokerPosition RedisBroker::publish(const std::string& topic, std::string_view data, std::size_t history_size,
                                    std::chrono::seconds history_ttl, bool live,
                                    const std::string& idempotency_key) {
  auto pending = publishAsync(topic, data, history_size, history_ttl, live, idempotency_key);
  shards_[pending.shard]->kick();
  return finish(pending);
}

RedisBroker::Pending RedisBroker::publishAsync(const std::string& topic, std::string_view data,
                                               std::size_t history_size, std::chrono::seconds history_ttl, bool live,
                                               const std::string& idempotency_key) {
  const auto index = shardOf(topic);
  auto& shard = *shards_[index];
  try {
    return {shard.submit(RedisShard::evalsha(
                shard.publishSha(),
                {redis_keys::meta(settings_.prefix, topic), redis_keys::stream(settings_.prefix, topic),
                 redis_keys::result(settings_.prefix, topic, idempotency_key)},
                {redis_keys::topicChannel(settings_.prefix, topic), std::string(data), std::to_string(history_size),
                 std::to_string(history_ttl.count()), std::to_string(settings_.meta_ttl.count()), newEpoch(),
                 live ? "1" : "0", idempotency_key})),
            index};
  } catch (const RedisError& error) {
    throw BrokerUnavailable(std::string("the event could not be recorded: ") + error.what());
  }
}

void RedisBroker::kickAll() {
  for (auto& shard : shards_) shard->kick();
}

BrokerPosition RedisBroker::finish(Pending& pending) {
  auto& shard = *shards_[pending.shard];
  RedisReply reply;
  try {
    reply = pending.reply.get();
  } catch (const RedisError& error) {
    throw BrokerUnavailable(std::string("the event could not be recorded: ") + error.what());
  }
  if (reply.isError() || reply.elements.size() != 2)
    throw BrokerUnavailable("the event could not be recorded: " + shard.endpoint().display() + " answered " +
                            (reply.isError() ? reply.str : "something else than {offset, epoch}"));
  return {toOffset(reply.elements[0]), reply.elements[1].str};
}

void RedisBroker::publishBus(const std::string& topic, std::string_view data) {
  auto& shard = shardFor(topic);
  try {
    const auto reply = shard.call({"PUBLISH", redis_keys::busChannel(settings_.prefix, topic), std::string(data)});
    if (reply.isError()) throw RedisError(shard.endpoint().display() + " answered " + reply.str);
  } catch (const RedisError& error) {
    throw BrokerUnavailable(std::string("the bus message could not be sent: ") + error.what());
  }
}

BrokerHistory RedisBroker::read(const std::string& topic, std::uint64_t from, std::size_t limit) {
  auto& shard = shardFor(topic);
  RedisReply reply;
  try {
    reply = shard.query(RedisShard::evalsha(
        shard.readSha(), {redis_keys::meta(settings_.prefix, topic), redis_keys::stream(settings_.prefix, topic)},
        {newEpoch(), std::to_string(settings_.meta_ttl.count()), std::to_string(from), std::to_string(limit)}));
  } catch (const RedisError& error) {
    throw BrokerUnavailable(std::string("the history could not be read: ") + error.what());
  }
  if (reply.isError() || reply.elements.size() != 3)
    throw BrokerUnavailable("the history could not be read: " + shard.endpoint().display() + " answered " +
                            (reply.isError() ? reply.str : "something else than {epoch, offset, entries}"));
  BrokerHistory history;
  history.top.epoch = reply.elements[0].str;
  history.top.offset = toOffset(reply.elements[1]);
  for (const auto& item : reply.elements[2].elements) {
    auto entry = toEntry(item);
    if (entry.offset != 0) history.entries.push_back(std::move(entry));
  }
  return history;
}

void RedisBroker::heartbeat(const std::string& server_id, const plugin::Json& description) {
  try {
    shards_.front()->call({"SET", redis_keys::server(settings_.prefix, server_id), description.dump(), "EX",
                           std::to_string(settings_.heartbeat_ttl.count())});
  } catch (const RedisError&) {
    // The shard's health already says why; the next beat tries again.
  }
}

void RedisBroker::forgetServer(const std::string& server_id) {
  try {
    shards_.front()->call({"DEL", redis_keys::server(settings_.prefix, server_id)});
  } catch (const RedisError&) {
  }
}

std::vector<plugin::Json> RedisBroker::servers() {
  auto& shard = *shards_.front();
  std::vector<plugin::Json> found;
  try {
    std::string cursor = "0";
    std::vector<std::string> keys;
    do {
      const auto reply =
          shard.query({"SCAN", cursor, "MATCH", redis_keys::server(settings_.prefix, "*"), "COUNT", "1000"});
      if (reply.isError() || reply.elements.size() != 2) throw RedisError("SCAN answered " + reply.str);
      cursor = reply.elements[0].str;
      for (const auto& key : reply.elements[1].elements) keys.push_back(key.str);
    } while (cursor != "0");
    if (keys.empty()) return found;
    RedisCommand mget{"MGET"};
    mget.insert(mget.end(), keys.begin(), keys.end());
    const auto values = shard.query(mget);
    for (const auto& value : values.elements) {
      if (value.type != RedisReply::Type::String) continue;  // expired between SCAN and MGET
      auto parsed = plugin::readJson(value.str);
      if (parsed.ok()) found.push_back(std::move(parsed.value));
    }
  } catch (const RedisError& error) {
    throw BrokerUnavailable(std::string("the servers could not be listed: ") + error.what());
  }
  return found;
}

bool RedisBroker::healthy() const {
  for (const auto& shard : shards_) {
    if (!shard->healthy()) return false;
  }
  return true;
}

plugin::Json RedisBroker::health() const {
  auto shards = plugin::Json::array();
  std::size_t down = 0;
  for (const auto& shard : shards_) {
    plugin::Json entry{{"url", shard->endpoint().display()},
                       {"state", shard->healthy() ? "connected" : "disconnected"}};
    if (!shard->healthy()) {
      entry["reason"] = shard->reason();
      ++down;
    }
    shards.push_back(std::move(entry));
  }
  const char* state = down == 0 ? "ok" : down == shards_.size() ? "failing" : "degraded";
  return {{"type", "redis"}, {"state", state}, {"shards", shards}};
}

}  // namespace eventnode::core
