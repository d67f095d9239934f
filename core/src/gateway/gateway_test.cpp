// The gateway's publish path and its I/O threads, without the HTTP server: a
// Gateway on its own, and connections adopted from real loopback sockets.
#include "gateway/gateway.hpp"

#include <gtest/gtest.h>

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace eventnode::core {
namespace {

using namespace std::chrono_literals;
using plugin::Json;
using plugin::PublishStatus;

NodeConfig testConfig() {
  NodeConfig config;
  config.node.id = "gateway-test";
  config.server.io_threads = 2;
  config.server.limits.user_events_per_minute = 2;
  config.topics.push_back({"user:{sub}", "user", 10, 600});
  config.topics.push_back({"*", "public", 100, 600});
  return config;
}

/// A gateway with its I/O threads running, as the node holds it.
struct GatewayFixture {
  GatewayFixture() : gateway(config, bus, scheduler, logs) { gateway.start(); }
  ~GatewayFixture() { gateway.stop(); }

  NodeConfig config = testConfig();
  LogRegistry logs;
  EventBus bus;
  Scheduler scheduler;
  Gateway gateway;
};

/// A client's end of an adopted connection: reads the node's frames.
class Client {
 public:
  Client(Gateway& gateway, plugin::Identity identity, std::vector<std::string> topics) {
    Poco::Net::ServerSocket listener(Poco::Net::SocketAddress("127.0.0.1", 0));
    socket_.connect(listener.address());
    socket_.setReceiveTimeout(Poco::Timespan(10, 0));
    id = gateway.adopt(listener.acceptConnection(), false, std::move(identity), "127.0.0.1", nullptr,
                       std::move(topics));
  }

  /// The next text message as JSON; fails the test after 10 s. The node's
  /// frames are unmasked (ws::FrameReader reads the client's, which are masked).
  Json next() {
    while (true) {
      if (buffer_.size() >= 2) {
        const auto opcode = static_cast<unsigned char>(buffer_[0]) & 0x0F;
        std::size_t length = static_cast<unsigned char>(buffer_[1]) & 0x7F;
        std::size_t header = 2;
        if (length == 126 && buffer_.size() >= 4) {
          length = (std::size_t{static_cast<unsigned char>(buffer_[2])} << 8) | static_cast<unsigned char>(buffer_[3]);
          header = 4;
        } else if (length == 127) {
          ADD_FAILURE() << "no frame here is that long";
          return nullptr;
        }
        if (length < 126 || header == 4) {
          if (buffer_.size() >= header + length) {
            const auto payload = buffer_.substr(header, length);
            buffer_.erase(0, header + length);
            if (opcode == 0x1) return Json::parse(payload);
            if (opcode == 0x8) {
              ADD_FAILURE() << "the node closed the connection";
              return nullptr;
            }
            continue;  // pings
          }
        }
      }
      char chunk[4096];
      const int n = socket_.receiveBytes(chunk, sizeof(chunk));
      if (n <= 0) {
        ADD_FAILURE() << "the connection ended";
        return nullptr;
      }
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  /// Sends a masked text frame, as a browser would.
  void send(const std::string& text) {
    std::string frame;
    frame += static_cast<char>(0x81);
    frame += static_cast<char>(0x80 | text.size());  // short messages only
    frame.append(4, '\0');                            // a zero mask leaves the payload as it is
    frame += text;
    socket_.sendBytes(frame.data(), static_cast<int>(frame.size()));
  }

  plugin::ConnectionId id = 0;

 private:
  Poco::Net::StreamSocket socket_;
  std::string buffer_;
};

plugin::Identity user(const std::string& name) {
  return {name, {}, true};
}

TEST(Unit, PublishGivesEachTopicItsOwnRunOfOffsets) {
  GatewayFixture f;
  EXPECT_EQ(f.gateway.publish("a", 1).offset, 1u);
  EXPECT_EQ(f.gateway.publish("a", 2).offset, 2u);
  EXPECT_EQ(f.gateway.publish("b", 3).offset, 1u);
  EXPECT_EQ(f.gateway.publishText("a", R"({"n":4})").offset, 3u);
  EXPECT_TRUE(f.gateway.publish("a", 5).accepted());
}

TEST(Unit, ABadTopicOrTextIsRefusedWithAReasonAndPublishesNothing) {
  GatewayFixture f;
  std::atomic<int> bus_events{0};
  auto executor = std::make_shared<BusExecutor>("watcher", 100);
  f.bus.subscribe("t*", [&](const std::string&, const Json&) { ++bus_events; }, executor);
  const auto bad_topic = f.gateway.publish("has space", 1);
  EXPECT_EQ(bad_topic.status, PublishStatus::Refused);
  EXPECT_NE(bad_topic.reason.find("invalid topic 'has space'"), std::string::npos) << bad_topic.reason;
  const auto not_utf8 = f.gateway.publishText("t1", "\"\xff\"");
  EXPECT_EQ(not_utf8.status, PublishStatus::Refused);
  EXPECT_NE(not_utf8.reason.find("not valid UTF-8"), std::string::npos) << not_utf8.reason;
  const auto not_json = f.gateway.publishText("t1", "{\"a\":");
  EXPECT_EQ(not_json.status, PublishStatus::Refused);
  EXPECT_NE(not_json.reason.find("not valid JSON"), std::string::npos) << not_json.reason;
  EXPECT_EQ(f.gateway.publish("t1", 1).offset, 1u) << "the refusals took no offset";
  executor->stop();
}

TEST(Unit, EventsBeyondAUsersPerMinuteLimitAreRateLimitedAndKeptInHistory) {
  GatewayFixture f;
  EXPECT_TRUE(f.gateway.publish("user:alice", 1).accepted());
  EXPECT_TRUE(f.gateway.publish("user:alice", 2).accepted());
  const auto third = f.gateway.publish("user:alice", 3);
  EXPECT_EQ(third.status, PublishStatus::RateLimited);
  EXPECT_EQ(third.offset, 3u) << "recorded in history, where `since` finds it";
  EXPECT_NE(third.reason.find("kept in history at offset 3"), std::string::npos) << third.reason;
  EXPECT_NE(third.reason.find("user_events_per_minute"), std::string::npos) << third.reason;
  EXPECT_TRUE(f.gateway.publish("user:bob", 1).accepted()) << "the limit is per user";
}

TEST(Unit, ABusOnlyPublishReachesBusSubscribersAndKeepsNoTopic) {
  GatewayFixture f;
  std::atomic<int> seen{0};
  auto executor = std::make_shared<BusExecutor>("watcher", 100);
  f.bus.subscribe("solana:watch", [&](const std::string&, const Json& data) { seen += data["n"].get<int>(); },
                  executor);
  const auto topics_before = f.gateway.stats()["topics"].get<std::size_t>();
  const auto result = f.gateway.publishToBus("solana:watch", Json{{"n", 5}});
  EXPECT_TRUE(result.accepted());
  EXPECT_EQ(result.offset, 0u);
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (seen.load() != 5 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(seen.load(), 5);
  EXPECT_EQ(f.gateway.stats()["topics"].get<std::size_t>(), topics_before) << "no topic state, no history";
  executor->stop();
}

TEST(Unit, AnAdoptedConnectionIsGreetedReceivesItsEventsInOrderAndRecoversWithSince) {
  GatewayFixture f;
  f.gateway.publish("prices", Json{{"n", 0}});
  Client client(f.gateway, user("alice"), {"prices"});
  const auto greeting = client.next();
  EXPECT_EQ(greeting["type"], "connected");
  EXPECT_EQ(greeting["connection_id"], client.id);
  EXPECT_EQ(client.next()["type"], "subscribed");
  for (int i = 1; i <= 3; ++i) f.gateway.publish("prices", Json{{"n", i}});
  f.gateway.publish("user:alice", Json{{"mine", true}});
  for (int i = 1; i <= 3; ++i) {
    const auto event = client.next();
    EXPECT_EQ(event["topic"], "prices");
    EXPECT_EQ(event["offset"], i + 1);
    EXPECT_EQ(event["data"]["n"], i);
  }
  const auto own = client.next();
  EXPECT_EQ(own["topic"], "user:alice");
  EXPECT_EQ(own["data"], (Json{{"mine", true}}));

  // A second client catches up from history with since.
  Client late(f.gateway, user("bob"), {});
  late.next();  // connected
  late.send(R"({"type":"subscribe","data":{"topic":"prices","since":2}})");
  const auto subscribed = late.next();
  EXPECT_EQ(subscribed["type"], "subscribed");
  EXPECT_EQ(subscribed["recovered"], true) << subscribed.dump();
  EXPECT_EQ(late.next()["offset"], 3);
  EXPECT_EQ(late.next()["offset"], 4);
}

TEST(Unit, APluginMaySendOnlyToConnectionsOfItsOwnEndpoints) {
  GatewayFixture f;
  Client client(f.gateway, user("carol"), {});
  client.next();  // connected
  EXPECT_EQ(f.gateway.send(client.id, "{}", "some_plugin"), plugin::SendStatus::Refused);
  EXPECT_EQ(f.gateway.sendMany({client.id}, "{}", "some_plugin"), 0u);
  EXPECT_FALSE(f.gateway.close(client.id, 4000, "no", "some_plugin"));
  EXPECT_EQ(f.gateway.send(999'999, "{}", "some_plugin"), plugin::SendStatus::Closed);
  // The core's own /ws connections belong to the core (owner ""): the same calls work there.
  EXPECT_EQ(f.gateway.send(client.id, R"({"type":"note"})", ""), plugin::SendStatus::Ok);
  EXPECT_EQ(client.next()["type"], "note");
}

}  // namespace
}  // namespace eventnode::core
