// The Redis broker against a real redis-server: offsets, epochs and history
// from Redis, pub/sub in order, shards, and what each failure looks like.
#include "broker/redis_broker.hpp"

#include "redis_server.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <set>

namespace eventnode::core {
namespace {

using namespace std::chrono_literals;
using tests::RedisServer;
using tests::waitUntil;

struct Received {
  std::string topic;
  std::uint64_t offset;
  std::string epoch;
  bool live;
  std::string data;
};

class RecordingSink : public BrokerSink {
 public:
  void onPublication(std::size_t, const std::string& topic, std::uint64_t offset, const std::string& epoch, bool live,
                     std::string_view data) override {
    std::lock_guard lock(mutex);
    publications.push_back({topic, offset, epoch, live, std::string(data)});
  }
  void onBusMessage(const std::string& topic, std::string_view data) override {
    std::lock_guard lock(mutex);
    bus.emplace_back(topic, std::string(data));
  }
  void onSubscribed(std::size_t shard) override {
    std::lock_guard lock(mutex);
    subscribed.push_back(shard);
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return publications.size();
  }

  std::mutex mutex;
  std::vector<Received> publications;
  std::vector<std::pair<std::string, std::string>> bus;
  std::vector<std::size_t> subscribed;
};

std::shared_ptr<spdlog::logger> quietLogger() {
  return std::make_shared<spdlog::logger>("broker-test", std::make_shared<spdlog::sinks::null_sink_mt>());
}

RedisBrokerSettings settingsFor(const std::vector<std::string>& urls, std::string password = {}) {
  RedisBrokerSettings settings;
  for (const auto& url : urls) {
    std::string error;
    auto endpoint = parseRedisUrl(url, error);
    endpoint->password = password;
    settings.shards.push_back(*endpoint);
  }
  settings.timeout = 500ms;
  return settings;
}

/// Publishes on `topic` as a producer would after Redis came back: retrying while it is refused, up to 10 s.
std::optional<BrokerPosition> publishOnceBack(RedisBroker& broker, const std::string& topic) {
  std::optional<BrokerPosition> position;
  waitUntil(
      [&] {
        try {
          position = broker.publish(topic, "{}", 10, 60s, true);
          return true;
        } catch (const BrokerUnavailable&) {
          return false;
        }
      },
      10s);
  return position;
}

TEST(Redis, PublishesGetOffsetsAndAnEpochFromRedisAndArriveInOrderWithTheirHistory) {
  RedisServer redis;
  RecordingSink sink;
  RedisBroker broker(settingsFor({redis.url()}), sink, quietLogger());
  broker.start();
  ASSERT_TRUE(waitUntil([&] { return broker.healthy(); }, 5s)) << broker.health().dump();
  std::vector<BrokerPosition> positions;
  for (int i = 1; i <= 5; ++i) positions.push_back(broker.publish("news", "{\"n\":" + std::to_string(i) + "}", 3, 60s, i != 4));
  for (std::size_t i = 0; i < positions.size(); ++i) {
    EXPECT_EQ(positions[i].offset, i + 1);
    EXPECT_EQ(positions[i].epoch, positions[0].epoch);
  }
  EXPECT_EQ(positions[0].epoch.size(), 8u);
  ASSERT_TRUE(waitUntil([&] { return sink.count() == 5; }, 5s));
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(sink.publications[i].topic, "news");
    EXPECT_EQ(sink.publications[i].offset, i + 1);
    EXPECT_EQ(sink.publications[i].epoch, positions[0].epoch);
    EXPECT_EQ(sink.publications[i].data, "{\"n\":" + std::to_string(i + 1) + "}");
    EXPECT_EQ(sink.publications[i].live, i != 3) << "the 4th was recorded only";
  }
  const auto history = broker.read("news", 1, 100);
  EXPECT_EQ(history.top.offset, 5u);
  EXPECT_EQ(history.top.epoch, positions[0].epoch);
  ASSERT_EQ(history.entries.size(), 3u) << "the history holds its size, the oldest go";
  EXPECT_EQ(history.entries[0].offset, 3u);
  EXPECT_FALSE(history.entries[1].live);
  EXPECT_EQ(history.entries[2].data, "{\"n\":5}");
  const auto position_only = broker.read("news", 0, 100);
  EXPECT_EQ(position_only.top.offset, 5u);
  EXPECT_TRUE(position_only.entries.empty());
  broker.publishBus("solana:watch", "{\"signature\":\"x\"}");
  ASSERT_TRUE(waitUntil([&] { std::lock_guard l(sink.mutex); return sink.bus.size() == 1; }, 5s));
  EXPECT_EQ(sink.bus[0].first, "solana:watch");
  EXPECT_EQ(broker.health()["state"], "ok");
}

TEST(Redis, ServersAnnounceThemselvesAndLeave) {
  RedisServer redis;
  RecordingSink sink;
  RedisBroker broker(settingsFor({redis.url()}), sink, quietLogger());
  broker.start();
  ASSERT_TRUE(waitUntil([&] { return broker.healthy(); }, 5s));
  broker.heartbeat("gw-1", {{"server_id", "gw-1"}, {"total_connections", 3}});
  broker.heartbeat("gw-2", {{"server_id", "gw-2"}, {"total_connections", 4}});
  auto servers = broker.servers();
  ASSERT_EQ(servers.size(), 2u);
  broker.forgetServer("gw-1");
  servers = broker.servers();
  ASSERT_EQ(servers.size(), 1u);
  EXPECT_EQ(servers[0]["server_id"], "gw-2");
}

TEST(Redis, AnUnreachableRedisRefusesPublishesAtOnceWithTheReason) {
  RecordingSink sink;
  const int port = tests::freePort();  // nobody listens there
  RedisBroker broker(settingsFor({"redis://127.0.0.1:" + std::to_string(port)}), sink, quietLogger());
  broker.start();
  const auto started = std::chrono::steady_clock::now();
  try {
    broker.publish("news", "{}", 10, 60s, true);
    FAIL() << "published without Redis";
  } catch (const BrokerUnavailable& error) {
    EXPECT_NE(std::string(error.what()).find("unreachable"), std::string::npos) << error.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s) << "refused at once, not after a wait";
  const auto health = broker.health();
  EXPECT_EQ(health["state"], "failing") << health.dump();
  EXPECT_NE(health["shards"][0]["reason"].get<std::string>().find("unreachable"), std::string::npos) << health.dump();
  EXPECT_THROW(broker.publishBus("t", "{}"), BrokerUnavailable);
}

TEST(Redis, AWrongPasswordIsReportedAsSuch) {
  RedisServer redis("right-password");
  RecordingSink sink;
  RedisBroker broker(settingsFor({redis.url()}, "wrong-password"), sink, quietLogger());
  broker.start();
  EXPECT_THROW(broker.publish("news", "{}", 10, 60s, true), BrokerUnavailable);
  const auto reason = broker.health()["shards"][0]["reason"].get<std::string>();
  EXPECT_NE(reason.find("refused the password"), std::string::npos) << reason;
  RedisBroker right(settingsFor({redis.url()}, "right-password"), sink, quietLogger());
  right.start();
  ASSERT_TRUE(waitUntil([&] { return right.healthy(); }, 5s)) << right.health().dump();
  EXPECT_EQ(right.publish("news", "{}", 10, 60s, true).offset, 1u);
}

TEST(Redis, TopicsSpreadOverTwoShardsAndOneShardDownLeavesTheOtherWorking) {
  RedisServer first;
  RedisServer second;
  RecordingSink sink;
  RedisBroker broker(settingsFor({first.url(), second.url()}), sink, quietLogger());
  broker.start();
  ASSERT_TRUE(waitUntil([&] { return broker.healthy(); }, 5s)) << broker.health().dump();
  std::set<std::size_t> used;
  std::string on_first;
  std::string on_second;
  for (int i = 0; i < 20; ++i) {
    const auto topic = "topic-" + std::to_string(i);
    used.insert(broker.shardOf(topic));
    (broker.shardOf(topic) == 0 ? on_first : on_second) = topic;
    EXPECT_EQ(broker.publish(topic, "{}", 10, 60s, true).offset, 1u);
  }
  EXPECT_EQ(used.size(), 2u);
  ASSERT_TRUE(waitUntil([&] { return sink.count() == 20; }, 5s)) << "both shards deliver";
  second.stop();
  ASSERT_TRUE(waitUntil([&] { return !broker.healthy(); }, 10s));
  EXPECT_EQ(broker.health()["state"], "degraded") << broker.health().dump();
  EXPECT_EQ(broker.publish(on_first, "{}", 10, 60s, true).offset, 2u) << "the live shard still takes its topics";
  EXPECT_THROW(broker.publish(on_second, "{}", 10, 60s, true), BrokerUnavailable);
}

TEST(Redis, AfterARestartTheBrokerReconnectsAndAPersistentRedisKeepsOffsetsAndEpoch) {
  RedisServer redis({}, /*appendonly=*/true);
  RecordingSink sink;
  RedisBroker broker(settingsFor({redis.url()}), sink, quietLogger());
  broker.start();
  ASSERT_TRUE(waitUntil([&] { return broker.healthy(); }, 5s));
  const auto before = broker.publish("news", "{}", 10, 60s, true);
  redis.stop();
  ASSERT_TRUE(waitUntil([&] { return !broker.healthy(); }, 10s));
  redis.start();
  // The first publish after the restart may still meet the old connection; a producer retries.
  const auto after = publishOnceBack(broker, "news");
  ASSERT_TRUE(after.has_value()) << "Redis did not take a publish within 10 s of coming back";
  EXPECT_EQ(after->offset, before.offset + 1);
  EXPECT_EQ(after->epoch, before.epoch);
  ASSERT_TRUE(waitUntil([&] { std::lock_guard l(sink.mutex); return sink.subscribed.size() >= 2; }, 10s))
      << "subscribed again after the restart";
}

TEST(Redis, WithoutPersistenceARestartGivesTheTopicANewEpoch) {
  RedisServer redis;
  RecordingSink sink;
  RedisBroker broker(settingsFor({redis.url()}), sink, quietLogger());
  broker.start();
  ASSERT_TRUE(waitUntil([&] { return broker.healthy(); }, 5s));
  const auto before = broker.publish("news", "{}", 10, 60s, true);
  redis.stop();
  redis.start();
  const auto after = publishOnceBack(broker, "news");
  ASSERT_TRUE(after.has_value()) << "Redis did not take a publish within 10 s of coming back";
  EXPECT_EQ(after->offset, 1u);
  EXPECT_NE(after->epoch, before.epoch);
}

TEST(Redis, TheFirstReadAndPublishAfterARestartMeetTheNewServerNotTheClosedConnections) {
  RedisServer redis;
  RecordingSink sink;
  RedisBroker broker(settingsFor({redis.url()}), sink, quietLogger());
  broker.start();
  ASSERT_TRUE(waitUntil([&] { return broker.healthy(); }, 5s));
  const auto before = broker.publish("news", "{}", 10, 60s, true);
  ASSERT_EQ(broker.read("news", 1, 10).entries.size(), 1u);
  // Nothing uses the writer or the reader while Redis is away: both are still open, closed by the server.
  redis.stop();
  redis.start();
  const auto read = broker.read("news", 1, 10);
  EXPECT_NE(read.top.epoch, before.epoch) << "the read reached the new, empty server";
  EXPECT_EQ(read.top.offset, 0u);
  const auto after = broker.publish("news", "{}", 10, 60s, true);
  EXPECT_EQ(after.offset, 1u);
  EXPECT_EQ(after.epoch, read.top.epoch);
}

TEST(Redis, AServerThatLostTheScriptsGetsThemAgainAndNoRequestFails) {
  RedisServer redis;
  RecordingSink sink;
  RedisBroker broker(settingsFor({redis.url()}), sink, quietLogger());
  broker.start();
  ASSERT_TRUE(waitUntil([&] { return broker.healthy(); }, 5s));
  EXPECT_EQ(broker.publish("news", "{}", 10, 60s, true).offset, 1u);
  ASSERT_EQ(broker.read("news", 1, 10).entries.size(), 1u);
  std::string error;
  RedisLink operator_link(*parseRedisUrl(redis.url(), error), 500ms);
  operator_link.connect();
  ASSERT_EQ(operator_link.command({"SCRIPT", "FLUSH"}).str, "OK");
  EXPECT_EQ(broker.publish("news", "{}", 10, 60s, true).offset, 2u);
  EXPECT_EQ(broker.read("news", 1, 10).entries.size(), 2u);
}

}  // namespace
}  // namespace eventnode::core

namespace eventnode::core {
namespace {

TEST(Redis, ARepeatedIdempotencyKeyGetsTheFirstPositionAndPublishesNothing) {
  RedisServer redis;
  RecordingSink sink;
  RedisBroker broker(settingsFor({redis.url()}), sink, quietLogger());
  broker.start();
  ASSERT_TRUE(waitUntil([&] { return broker.healthy(); }, 5s));
  const auto first = broker.publish("orders", "{\"id\":1}", 10, 60s, true, "order-1");
  const auto repeat = broker.publish("orders", "{\"id\":1}", 10, 60s, true, "order-1");
  const auto other = broker.publish("orders", "{\"id\":2}", 10, 60s, true, "order-2");
  const auto keyless = broker.publish("orders", "{\"id\":3}", 10, 60s, true);
  EXPECT_EQ(first.offset, 1u);
  EXPECT_EQ(repeat.offset, 1u);
  EXPECT_EQ(repeat.epoch, first.epoch);
  EXPECT_EQ(other.offset, 2u);
  EXPECT_EQ(keyless.offset, 3u);
  ASSERT_TRUE(waitUntil([&] { return sink.count() == 3; }, 5s));
  EXPECT_EQ(broker.read("orders", 1, 10).entries.size(), 3u) << "the repeat was not recorded";
}

}  // namespace
}  // namespace eventnode::core
