#include "p2p_network.hpp"

#include "p2p_auth.hpp"
#include "p2p_codec.hpp"
#include "process.hpp"
#include "txid.hpp"

#include <Poco/Exception.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/base_sink.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace eventnode::plugins::utxo {
namespace {

using plugin::Json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kDeadline = 10s;

// Polls `condition` until it holds or the deadline passes; every wait in these
// tests goes through here or a condition variable, never a bare sleep.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = kDeadline) {
  const auto deadline = Clock::now() + timeout;
  std::mutex mutex;
  std::condition_variable never;
  std::unique_lock lock(mutex);
  while (!condition()) {
    if (Clock::now() >= deadline) return false;
    never.wait_for(lock, 5ms);
  }
  return true;
}

// Keeps every log line so tests can check what was said about a connection.
class CaptureSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  bool contains(const std::string& needle) {
    std::lock_guard lock(mutex_);
    for (const auto& line : lines_) {
      if (line.find(needle) != std::string::npos) return true;
    }
    return false;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    lines_.emplace_back(msg.payload.data(), msg.payload.size());
  }
  void flush_() override {}

 private:
  std::vector<std::string> lines_;
};

struct Received {
  std::string peer;
  Json message;
};

// What one node's handler was given, in order.
class Inbox {
 public:
  void add(const std::string& peer, const Json& message) {
    {
      std::lock_guard lock(mutex_);
      items_.push_back({peer, message});
    }
    changed_.notify_all();
  }

  bool waitForCount(std::size_t count, std::chrono::milliseconds timeout = kDeadline) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return items_.size() >= count; });
  }

  std::vector<Received> items() {
    std::lock_guard lock(mutex_);
    return items_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Received> items_;
};

// A masternode under test: its network, what it received, what it logged.
struct Node {
  std::string id;
  std::shared_ptr<CaptureSink> sink = std::make_shared<CaptureSink>();
  Inbox inbox;
  std::function<void(const std::string&, const Json&, const P2pReply&)> on_message;
  std::unique_ptr<P2pNetwork> network;
};

class Mesh {
 public:
  explicit Mesh(std::vector<std::string> ids) : ids_(std::move(ids)) {
    for (const auto& id : ids_) ports_[id] = static_cast<std::uint16_t>(eventnode::tests::freePort());
  }

  P2pConfig config(const std::string& self) const {
    P2pConfig config;
    config.self_id = self;
    config.listen_host = "127.0.0.1";
    config.listen_port = ports_.at(self);
    for (const auto& id : ids_) {
      if (id != self) config.peers.push_back({id, "127.0.0.1", ports_.at(id)});
    }
    config.ping_interval = 1000ms;
    config.reconnect_min = 10ms;
    config.reconnect_max = 100ms;
    config.dial_timeout = 2000ms;
    return config;
  }

  std::unique_ptr<Node> start(const std::string& self, const std::function<void(P2pConfig&)>& adjust = {},
                              P2pPingBarrier barrier = {}) {
    auto node = std::make_unique<Node>();
    node->id = self;
    auto config = this->config(self);
    if (adjust) adjust(config);
    auto logger = std::make_shared<spdlog::logger>("p2p." + self, node->sink);
    logger->set_level(spdlog::level::debug);
    Node* raw = node.get();
    node->network = std::make_unique<P2pNetwork>(
        config, logger, [raw](const std::string& peer, const Json& message, const P2pReply& reply) {
          raw->inbox.add(peer, message);
          if (raw->on_message) raw->on_message(peer, message, reply);
        },
        std::move(barrier));
    node->network->start();
    return node;
  }

  std::uint16_t port(const std::string& id) const { return ports_.at(id); }

 private:
  std::vector<std::string> ids_;
  std::map<std::string, std::uint16_t> ports_;
};

Json peerStatus(const P2pNetwork& network, const std::string& id) {
  for (const auto& peer : network.status()) {
    if (peer["id"] == id) return peer;
  }
  return Json();
}

bool outboundUp(const P2pNetwork& network, const std::string& id) {
  return peerStatus(network, id)["outbound"]["connected"] == true;
}

bool fullyConnected(const std::vector<Node*>& nodes) {
  for (auto* node : nodes) {
    for (auto* other : nodes) {
      if (node == other) continue;
      const auto status = peerStatus(*node->network, other->id);
      if (status["outbound"]["connected"] != true || status["inbound"]["connected"] != true) return false;
    }
  }
  return true;
}

Json tx(const std::string& from, int seq) {
  return Json{{"TransactionBroadcast", {{"from", from}, {"seq", seq}}}};
}

// Checks that `items` holds, from each sender, seq 0..count-1 in order.
void expectInOrder(const std::vector<Received>& items, const std::vector<std::string>& senders, int count) {
  std::map<std::string, int> next;
  for (const auto& item : items) {
    ASSERT_TRUE(item.message.contains("TransactionBroadcast")) << item.message.dump();
    const auto& body = item.message["TransactionBroadcast"];
    EXPECT_EQ(body["from"], item.peer);
    EXPECT_EQ(body["seq"], next[item.peer]) << "from " << item.peer;
    next[item.peer] = body["seq"].get<int>() + 1;
  }
  for (const auto& sender : senders) EXPECT_EQ(next[sender], count) << "from " << sender;
}

// A hand-driven TCP peer that speaks (or breaks) the wire format.
class RawPeer {
 public:
  explicit RawPeer(std::uint16_t port) {
    socket_.connect(Poco::Net::SocketAddress("127.0.0.1", port), Poco::Timespan(2, 0));
    socket_.setReceiveTimeout(Poco::Timespan(0, 20000));
  }
  explicit RawPeer(Poco::Net::StreamSocket socket) : socket_(std::move(socket)) {
    socket_.setReceiveTimeout(Poco::Timespan(0, 20000));
  }

  void send(const std::string& bytes) { socket_.sendBytes(bytes.data(), static_cast<int>(bytes.size())); }

  void sendHandshake(const std::string& node_id, Network network = Network::Testnet) {
    P2pHandshake handshake;
    handshake.node_id = node_id;
    handshake.network = network;
    handshake.listen_addr = "127.0.0.1:1";
    handshake.timestamp = 1700000000;
    send(encodeP2pMagic(network) + encodeP2pFrame(buildP2pHandshake(handshake)));
  }

  // The next frame within the deadline, or null when the connection closed or nothing came.
  std::optional<Json> readFrame(std::chrono::milliseconds timeout = kDeadline) {
    const auto deadline = Clock::now() + timeout;
    Json body;
    while (Clock::now() < deadline) {
      const auto status = decoder_.next(body);
      if (status == P2pFrameDecoder::Status::Frame) return body;
      if (status == P2pFrameDecoder::Status::Error) return std::nullopt;
      if (!receive()) return std::nullopt;
    }
    return std::nullopt;
  }

  // True once the other side closed the connection, within the deadline.
  bool waitClosed(std::chrono::milliseconds timeout = kDeadline) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (!receive()) return true;
    }
    return false;
  }

 private:
  // False when the connection is closed; true after data or a receive timeout.
  bool receive() {
    char buffer[4096];
    try {
      const int received = socket_.receiveBytes(buffer, sizeof buffer);
      if (received <= 0) return false;
      decoder_.feed(buffer, static_cast<std::size_t>(received));
    } catch (const Poco::TimeoutException&) {
    } catch (const Poco::Exception&) {
      return false;
    }
    return true;
  }

  Poco::Net::StreamSocket socket_;
  P2pFrameDecoder decoder_{kP2pDefaultMaxFrameBytes, p2pMagic(Network::Testnet)};
};

TEST(P2pNetwork, ThreeNodesExchangeMessagesInOrderBothWays) {
  Mesh mesh({"mn1", "mn2", "mn3"});
  auto mn1 = mesh.start("mn1");
  auto mn2 = mesh.start("mn2");
  auto mn3 = mesh.start("mn3");
  ASSERT_TRUE(eventually([&] { return fullyConnected({mn1.get(), mn2.get(), mn3.get()}); }));

  constexpr int kCount = 300;
  for (int seq = 0; seq < kCount; ++seq) {
    mn1->network->broadcast({tx("mn1", seq)});
    mn2->network->broadcast({tx("mn2", seq)});
    mn3->network->sendTo("mn1", tx("mn3", seq));
    mn3->network->sendTo("mn2", tx("mn3", seq));
  }
  ASSERT_TRUE(mn1->inbox.waitForCount(2 * kCount));
  ASSERT_TRUE(mn2->inbox.waitForCount(2 * kCount));
  ASSERT_TRUE(mn3->inbox.waitForCount(2 * kCount));
  expectInOrder(mn1->inbox.items(), {"mn2", "mn3"}, kCount);
  expectInOrder(mn2->inbox.items(), {"mn1", "mn3"}, kCount);
  expectInOrder(mn3->inbox.items(), {"mn1", "mn2"}, kCount);

  // A message leaves the queue once its write returned, which can be after the peer read it.
  EXPECT_TRUE(eventually([&] { return peerStatus(*mn1->network, "mn2")["outbound"]["queued"] == 0; }));
  const auto status = peerStatus(*mn1->network, "mn2");
  EXPECT_EQ(status["address"], "127.0.0.1:" + std::to_string(mesh.port("mn2")));
  EXPECT_TRUE(status["outbound"]["since"].is_number_integer());
  EXPECT_TRUE(status["outbound"]["last_error"].is_null());
  EXPECT_TRUE(status["inbound"]["since"].is_number_integer());
  EXPECT_TRUE(eventually([&] { return mn1->sink->contains("p2p outbound connected peer=mn2"); }));
  EXPECT_TRUE(eventually([&] { return mn1->sink->contains("p2p inbound connected peer=mn2"); }));
}

// Every node knows every other's key; `wrong_key_for` gets a key mn1 does not know it by.
std::function<void(P2pConfig&)> authenticated(const std::vector<std::string>& ids, const std::string& self,
                                              const std::string& wrong_key_for = "") {
  auto keyOf = [](const std::string& id) { return NodeKey::fromSecret(sha3_256("p2p-network-test:" + id)); };
  return [=](P2pConfig& config) {
    std::map<std::string, std::vector<std::uint8_t>> keys;
    for (const auto& id : ids) {
      if (id != self) keys[id] = keyOf(id).publicKey();
    }
    const auto own = self == wrong_key_for ? keyOf("impostor") : keyOf(self);
    config.authenticator = std::make_shared<P2pAuthenticator>(Network::Testnet, self, own, keys);
  };
}

TEST(P2pNetwork, AuthenticatedMasternodesLinkAndExchangeMessages) {
  Mesh mesh({"mn1", "mn2"});
  auto mn1 = mesh.start("mn1", authenticated({"mn1", "mn2"}, "mn1"));
  auto mn2 = mesh.start("mn2", authenticated({"mn1", "mn2"}, "mn2"));
  ASSERT_TRUE(eventually([&] { return fullyConnected({mn1.get(), mn2.get()}); }));
  mn1->network->broadcast({tx("mn1", 0)});
  ASSERT_TRUE(mn2->inbox.waitForCount(1));
}

TEST(P2pNetwork, APeerWithoutTheKeyItIsKnownByCannotLinkEitherWay) {
  Mesh mesh({"mn1", "mn2"});
  auto mn1 = mesh.start("mn1", authenticated({"mn1", "mn2"}, "mn1"));
  auto mn2 = mesh.start("mn2", authenticated({"mn1", "mn2"}, "mn2", "mn2"));
  // mn2 dials mn1 with a key mn1 does not know; mn1 dials mn2 and gets an answer signed by it.
  EXPECT_TRUE(eventually(
      [&] { return mn1->sink->contains("handshake signature does not verify under mn2's configured public key"); }));
  EXPECT_TRUE(eventually([&] {
    const auto error = peerStatus(*mn1->network, "mn2")["outbound"]["last_error"];  // null until a dial fails
    return error.is_string() && error.get<std::string>().find("does not verify under mn2's") != std::string::npos;
  }));
  EXPECT_FALSE(outboundUp(*mn1->network, "mn2"));
  EXPECT_FALSE(outboundUp(*mn2->network, "mn1"));
}

TEST(P2pNetwork, AnAuthenticatingNodeClosesAConnectionWhoseHandshakeIsNotSigned) {
  Mesh mesh({"mn1", "mn2"});
  auto mn1 = mesh.start("mn1", authenticated({"mn1", "mn2"}, "mn1"));
  RawPeer impostor(mesh.port("mn1"));
  impostor.sendHandshake("mn2");  // what a node without authentication sends
  EXPECT_TRUE(impostor.waitClosed());
  EXPECT_TRUE(eventually([&] { return mn1->sink->contains("handshake nonce must be 64 hex characters"); }));
}

TEST(P2pNetwork, UnknownPeerIdsAreIgnoredBySendTo) {
  Mesh mesh({"mn1", "mn2"});
  auto mn1 = mesh.start("mn1");
  mn1->network->sendTo("mn9", tx("mn1", 0));
  EXPECT_EQ(peerStatus(*mn1->network, "mn2")["outbound"]["queued"], 0);
  EXPECT_EQ(mn1->network->status().size(), 1u);
}

TEST(P2pNetwork, ReplyGoesBackToTheAskingNode) {
  Mesh mesh({"mn1", "mn2"});
  auto mn1 = mesh.start("mn1");
  auto mn2 = mesh.start("mn2");
  mn2->on_message = [](const std::string&, const Json& message, const P2pReply& reply) {
    if (message.contains("UTXOStateQuery")) {
      reply(Json{{"UTXOStateResponse", {{"states", message["UTXOStateQuery"]["outpoints"].dump()}}}});
    }
  };
  mn1->network->sendTo("mn2", Json{{"UTXOStateQuery", {{"outpoints", {"ab:0", "cd:1"}}}}});
  ASSERT_TRUE(mn1->inbox.waitForCount(1));
  const auto got = mn1->inbox.items().at(0);
  EXPECT_EQ(got.peer, "mn2");
  EXPECT_EQ(got.message, (Json{{"UTXOStateResponse", {{"states", R"(["ab:0","cd:1"])"}}}}));
}

TEST(P2pNetwork, AnInboundPingIsAnsweredWithPong) {
  Mesh mesh({"mn1", "mn2"});
  auto mn1 = mesh.start("mn1");
  RawPeer raw(mesh.port("mn1"));
  raw.sendHandshake("mn2");
  const auto handshake = raw.readFrame();
  ASSERT_TRUE(handshake);
  EXPECT_EQ((*handshake)["node_id"], "mn1");
  EXPECT_EQ((*handshake)["network"], "testnet");
  EXPECT_EQ((*handshake)["protocol_version"], 1);
  EXPECT_EQ((*handshake)["listen_addr"], "127.0.0.1:" + std::to_string(mesh.port("mn1")));
  raw.send(encodeP2pFrame(Json("Ping")));
  EXPECT_EQ(raw.readFrame(), Json("Pong"));
  EXPECT_TRUE(mn1->inbox.items().empty());  // Ping/Pong never reach the handler
}

TEST(P2pNetwork, APingIsAnsweredOnlyWhenTheBarrierSaysWhatCameBeforeIsKept) {
  Mesh mesh({"mn1", "mn2"});
  std::atomic<bool> durable{false};
  std::atomic<std::size_t> handled_at_barrier{0};
  Node* mn1_raw = nullptr;
  auto mn1 = mesh.start("mn1", {}, [&] {
    handled_at_barrier = mn1_raw->inbox.items().size();
    return durable.load();
  });
  mn1_raw = mn1.get();
  RawPeer raw(mesh.port("mn1"));
  raw.sendHandshake("mn2");
  ASSERT_TRUE(raw.readFrame());
  raw.send(encodeP2pFrame(tx("mn2", 0)) + encodeP2pFrame(tx("mn2", 1)) + encodeP2pFrame(Json("Ping")));
  EXPECT_EQ(raw.readFrame(300ms), std::nullopt);  // not kept: no Pong, so mn2 would send them again
  EXPECT_EQ(handled_at_barrier, 2u);              // the barrier ran after both went to the handler

  durable = true;
  raw.send(encodeP2pFrame(Json("Ping")));
  EXPECT_EQ(raw.readFrame(), Json("Pong"));
}

struct BadPeer {
  const char* name;
  // Sends the bad bytes; gets the raw peer and whether it should first read our handshake.
  std::function<void(RawPeer&)> misbehave;
  const char* log_contains;
};

std::string lengthHeader(std::uint32_t length) {
  return std::string{static_cast<char>((length >> 24) & 0xFF), static_cast<char>((length >> 16) & 0xFF),
                     static_cast<char>((length >> 8) & 0xFF), static_cast<char>(length & 0xFF)};
}

// Handshakes as mn3 (a configured masternode not running here), then sends `bytes`.
std::function<void(RawPeer&)> afterHandshake(std::string bytes) {
  return [bytes](RawPeer& raw) {
    raw.sendHandshake("mn3");
    ASSERT_TRUE(raw.readFrame());
    raw.send(bytes);
  };
}

TEST(P2pNetwork, BadConnectionsAreClosedWhileGoodPeersKeepWorking) {
  Mesh mesh({"mn1", "mn2", "mn3"});
  auto mn1 = mesh.start("mn1");
  auto mn2 = mesh.start("mn2");
  ASSERT_TRUE(eventually([&] { return fullyConnected({mn1.get(), mn2.get()}); }));
  const auto reconnects_before = peerStatus(*mn2->network, "mn1")["outbound"]["reconnects"];

  const std::vector<BadPeer> cases = {
      {"wrong magic", [](RawPeer& raw) { raw.sendHandshake("mn3", Network::Mainnet); },
       "peer=unknown remote=127.0.0.1"},
      {"wrong network in handshake",
       [](RawPeer& raw) {
         Json handshake = {{"node_id", "mn3"},
                           {"network", "mainnet"},
                           {"protocol_version", 1},
                           {"listen_addr", "x:1"},
                           {"timestamp", 1}};
         raw.send(encodeP2pMagic(Network::Testnet) + encodeP2pFrame(handshake));
       },
       "reason=malformed: handshake network mainnet, expected testnet"},
      {"unknown node id", [](RawPeer& raw) { raw.sendHandshake("mn9"); },
       "reason=malformed: handshake node_id mn9 is not a configured masternode"},
      {"own node id", [](RawPeer& raw) { raw.sendHandshake("mn1"); },
       "reason=malformed: handshake node_id mn1 is this node's own id"},
      {"protocol version 2",
       [](RawPeer& raw) {
         Json handshake = {{"node_id", "mn3"},
                           {"network", "testnet"},
                           {"protocol_version", 2},
                           {"listen_addr", "x:1"},
                           {"timestamp", 1}};
         raw.send(encodeP2pMagic(Network::Testnet) + encodeP2pFrame(handshake));
       },
       "handshake protocol_version 2 is not supported"},
      {"message before handshake",
       [](RawPeer& raw) { raw.send(encodeP2pMagic(Network::Testnet) + encodeP2pFrame(Json("Ping"))); },
       "handshake is a JSON string"},
      {"oversized frame", afterHandshake(lengthHeader(10u * 1024 * 1024 + 1)), "peer=mn3 remote=127.0.0.1"},
      {"garbage JSON", afterHandshake(lengthHeader(9) + "{garbage}"), "reason=malformed: frame is refused: not valid JSON"},
      {"zero length", afterHandshake(lengthHeader(0)), "reason=malformed: frame length is zero"},
      {"unknown variant", afterHandshake(encodeP2pFrame(Json{{"Gossip", Json::object()}})),
       "reason=malformed: unknown message variant \"Gossip\""},
      {"variant not an object", afterHandshake(encodeP2pFrame(Json{{"InstantFinalityVote", 1}})),
       "variant InstantFinalityVote holds a JSON number"},
  };
  int seq = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    RawPeer raw(mesh.port("mn1"));
    c.misbehave(raw);
    EXPECT_TRUE(raw.waitClosed());
    EXPECT_TRUE(eventually([&] { return mn1->sink->contains(c.log_contains); })) << c.log_contains;

    // The good link both ways is untouched.
    mn1->network->sendTo("mn2", tx("mn1", seq));
    mn2->network->sendTo("mn1", tx("mn2", seq));
    ++seq;
    EXPECT_TRUE(mn1->inbox.waitForCount(seq));
    EXPECT_TRUE(mn2->inbox.waitForCount(seq));
  }
  expectInOrder(mn1->inbox.items(), {"mn2"}, seq);
  expectInOrder(mn2->inbox.items(), {"mn1"}, seq);
  EXPECT_EQ(peerStatus(*mn2->network, "mn1")["outbound"]["reconnects"], reconnects_before);
  EXPECT_TRUE(mn1->sink->contains("frame length 10485761 exceeds the maximum of 10485760"));
  EXPECT_TRUE(mn1->sink->contains("wrong magic: got C0 1D 7E 4D, expected 7E 57 7E 4D"));
}

TEST(P2pNetwork, APeerThatStartsLateGetsTheQueuedMessages) {
  Mesh mesh({"mn1", "mn2"});
  auto mn1 = mesh.start("mn1");
  constexpr int kCount = 50;
  for (int seq = 0; seq < kCount; ++seq) mn1->network->sendTo("mn2", tx("mn1", seq));
  ASSERT_TRUE(eventually([&] { return !peerStatus(*mn1->network, "mn2")["outbound"]["last_error"].is_null(); }));
  EXPECT_EQ(peerStatus(*mn1->network, "mn2")["outbound"]["queued"], kCount);
  EXPECT_FALSE(outboundUp(*mn1->network, "mn2"));
  // The link records its last error just before it logs it.
  EXPECT_TRUE(eventually([&] { return mn1->sink->contains("p2p dial failed peer=mn2"); }));

  auto mn2 = mesh.start("mn2");
  ASSERT_TRUE(mn2->inbox.waitForCount(kCount));
  expectInOrder(mn2->inbox.items(), {"mn1"}, kCount);
  EXPECT_TRUE(eventually([&] { return peerStatus(*mn1->network, "mn2")["outbound"]["queued"] == 0; }));
}

TEST(P2pNetwork, AFullQueueDropsTheOldestMessages) {
  Mesh mesh({"mn1", "mn2"});
  auto mn1 = mesh.start("mn1", [](P2pConfig& config) { config.max_queued_per_peer = 3; });
  for (int seq = 0; seq < 5; ++seq) mn1->network->sendTo("mn2", tx("mn1", seq));
  EXPECT_EQ(peerStatus(*mn1->network, "mn2")["outbound"]["queued"], 3);
  EXPECT_EQ(peerStatus(*mn1->network, "mn2")["outbound"]["dropped"], 2);
  EXPECT_TRUE(mn1->sink->contains("p2p queue full, dropping oldest peer=mn2"));

  auto mn2 = mesh.start("mn2");
  ASSERT_TRUE(mn2->inbox.waitForCount(3));
  const auto items = mn2->inbox.items();
  ASSERT_EQ(items.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(items[i].message["TransactionBroadcast"]["seq"], i + 2);
}

TEST(P2pNetwork, ARestartedPeerIsRedialled) {
  Mesh mesh({"mn1", "mn2"});
  auto mn1 = mesh.start("mn1");
  auto mn2 = mesh.start("mn2");
  ASSERT_TRUE(eventually([&] { return fullyConnected({mn1.get(), mn2.get()}); }));
  mn1->network->sendTo("mn2", tx("mn1", 0));
  ASSERT_TRUE(mn2->inbox.waitForCount(1));
  // Confirmed by mn2's Pong, so the restarted mn2 does not get it again.
  ASSERT_TRUE(eventually([&] { return peerStatus(*mn1->network, "mn2")["outbound"]["unconfirmed"] == 0; }));

  mn2.reset();
  ASSERT_TRUE(eventually([&] { return !outboundUp(*mn1->network, "mn2"); }));
  EXPECT_TRUE(eventually([&] { return mn1->sink->contains("p2p outbound disconnected peer=mn2"); }));
  for (int seq = 0; seq < 10; ++seq) mn1->network->sendTo("mn2", tx("mn1", seq));

  auto restarted = mesh.start("mn2");
  ASSERT_TRUE(restarted->inbox.waitForCount(10));
  expectInOrder(restarted->inbox.items(), {"mn1"}, 10);
  ASSERT_TRUE(eventually([&] { return fullyConnected({mn1.get(), restarted.get()}); }));
  EXPECT_GE(peerStatus(*mn1->network, "mn2")["outbound"]["reconnects"].get<int>(), 1);

  restarted->network->sendTo("mn1", tx("mn2", 0));
  ASSERT_TRUE(mn1->inbox.waitForCount(1));
}

// A fake mn2 on its own listener: accepts mn1's link and handshakes.
class FakePeerListener {
 public:
  explicit FakePeerListener(std::uint16_t port) {
    server_.bind(Poco::Net::SocketAddress("127.0.0.1", port), true, false);
    server_.listen();
  }

  RawPeer accept() {
    EXPECT_TRUE(server_.poll(Poco::Timespan(10, 0), Poco::Net::Socket::SELECT_READ));
    RawPeer raw(server_.acceptConnection());
    const auto handshake = raw.readFrame();
    EXPECT_TRUE(handshake);
    if (handshake) {
      EXPECT_EQ((*handshake)["node_id"], "mn1");
    }
    raw.sendHandshake("mn2");
    return raw;
  }

 private:
  Poco::Net::ServerSocket server_;
};

// Reads until `count` TransactionBroadcast frames came (their seqs, in order),
// answering Pings with Pongs when `answer_pings`.
std::vector<int> readBroadcasts(RawPeer& raw, std::size_t count, bool answer_pings) {
  std::vector<int> seqs;
  while (seqs.size() < count) {
    const auto frame = raw.readFrame();
    if (!frame) break;
    if (*frame == Json("Ping")) {
      if (answer_pings) raw.send(encodeP2pFrame(Json("Pong")));
      continue;
    }
    seqs.push_back((*frame)["TransactionBroadcast"]["seq"].get<int>());
  }
  return seqs;
}

// A real mn1 whose link dials a fake mn2 that the test drives by hand.
struct LinkToFakeMn2 {
  explicit LinkToFakeMn2(const std::function<void(P2pConfig&)>& adjust = {})
      : mn2(mesh.port("mn2")), mn1(mesh.start("mn1", adjust)) {}

  // Queues TransactionBroadcast seq `first`..`last` from mn1 to mn2.
  void send(int first, int last) {
    for (int seq = first; seq <= last; ++seq) mn1->network->sendTo("mn2", tx("mn1", seq));
  }

  Json outbound() const { return peerStatus(*mn1->network, "mn2")["outbound"]; }

  // Answers mn1's Pings on `raw` until its link to mn2 holds no unconfirmed frame.
  bool confirmAll(RawPeer& raw) const {
    return eventually([&] {
      if (const auto frame = raw.readFrame(20ms); frame && *frame == Json("Ping")) {
        raw.send(encodeP2pFrame(Json("Pong")));
      }
      return outbound()["connected"] == true && outbound()["unconfirmed"] == 0;
    });
  }

  Mesh mesh{{"mn1", "mn2"}};
  FakePeerListener mn2;
  std::unique_ptr<Node> mn1;
};

TEST(P2pNetwork, ASilentPeerIsDroppedAndRedialled) {
  // A fake mn2 that handshakes and then never answers a Ping.
  LinkToFakeMn2 link([](P2pConfig& config) { config.ping_interval = 100ms; });

  const auto started = Clock::now();
  RawPeer first = link.mn2.accept();
  EXPECT_EQ(first.readFrame(), Json("Ping"));
  EXPECT_TRUE(first.waitClosed());
  EXPECT_GE(Clock::now() - started, 300ms);
  EXPECT_TRUE(eventually([&] { return link.mn1->sink->contains("reason=silent for 3 ping intervals"); }));
  RawPeer second = link.mn2.accept();
  EXPECT_EQ(second.readFrame(), Json("Ping"));
}

TEST(P2pNetwork, FramesAPeerDiedWithoutConfirmingAreSentAgainOnTheNextLink) {
  // What mn2 read but never confirmed with a Pong may have died with it
  // (unread in its socket buffer, or read but not yet acted on).
  LinkToFakeMn2 link;
  link.send(0, 4);
  {
    RawPeer first = link.mn2.accept();
    EXPECT_EQ(readBroadcasts(first, 5, false), (std::vector<int>{0, 1, 2, 3, 4}));
    EXPECT_TRUE(eventually([&] { return link.outbound()["unconfirmed"] == 5; }));
  }  // closed without a Pong: mn2 "crashed"
  link.send(5, 5);

  RawPeer second = link.mn2.accept();
  EXPECT_EQ(readBroadcasts(second, 6, true), (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_TRUE(link.confirmAll(second));
}

TEST(P2pNetwork, FramesConfirmedByAPongAreNotSentAgain) {
  LinkToFakeMn2 link;
  link.send(0, 4);
  {
    RawPeer first = link.mn2.accept();
    EXPECT_EQ(readBroadcasts(first, 5, true), (std::vector<int>{0, 1, 2, 3, 4}));
    // The Ping that confirms the last frames may come after them.
    EXPECT_TRUE(link.confirmAll(first));
  }
  link.send(5, 5);

  RawPeer second = link.mn2.accept();
  EXPECT_EQ(readBroadcasts(second, 1, true), (std::vector<int>{5}));
}

TEST(P2pNetwork, AMessageThePeerKeepsClosingTheLinkOnIsDroppedAfterFiveTries) {
  // A peer that refuses one message by closing the connection (it might be
  // over its frame limit) must not lose the link to it forever.
  LinkToFakeMn2 link;
  link.send(0, 0);
  for (int attempt = 1; attempt <= 5; ++attempt) {
    RawPeer raw = link.mn2.accept();
    EXPECT_EQ(readBroadcasts(raw, 1, false), std::vector<int>{0}) << "link " << attempt;
  }  // each closed on reading it
  EXPECT_TRUE(eventually([&] { return link.mn1->sink->contains("p2p messages dropped after 5 links failed"); }));
  EXPECT_EQ(link.outbound()["dropped"], 1);
  link.send(1, 1);
  RawPeer healthy = link.mn2.accept();
  EXPECT_EQ(readBroadcasts(healthy, 1, true), std::vector<int>{1});
  EXPECT_TRUE(link.confirmAll(healthy));
}

TEST(P2pNetwork, StopIsPromptWithLinksUpAndHandshakesPending) {
  Mesh mesh({"mn1", "mn2", "mn3"});
  // mn3 answers nothing: a listener that never accepts keeps mn1's link in its handshake read.
  Poco::Net::ServerSocket mute;
  mute.bind(Poco::Net::SocketAddress("127.0.0.1", mesh.port("mn3")), true, false);
  mute.listen();
  auto mn2 = mesh.start("mn2");
  auto mn1 = mesh.start("mn1", [](P2pConfig& config) {
    config.dial_timeout = 30000ms;
    config.ping_interval = 60000ms;
  });
  ASSERT_TRUE(eventually([&] { return fullyConnected({mn1.get(), mn2.get()}); }));
  RawPeer idle(mesh.port("mn1"));  // connected, never handshakes

  const auto begin = Clock::now();
  mn1->network->stop();
  const auto took = Clock::now() - begin;
  EXPECT_LT(took, 1s) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  EXPECT_TRUE(idle.waitClosed());
  mn1->network->stop();  // idempotent
}

TEST(P2pNetwork, StartFailsNamingTheAddressWhenThePortIsTaken) {
  Mesh mesh({"mn1", "mn2"});
  auto mn1 = mesh.start("mn1");
  auto config = mesh.config("mn1");
  P2pNetwork second(config, std::make_shared<spdlog::logger>("p2p.second"), [](auto&&...) {});
  try {
    second.start();
    FAIL() << "start() should have thrown";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(mesh.port("mn1"))), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace eventnode::plugins::utxo
