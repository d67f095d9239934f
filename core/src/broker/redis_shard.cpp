#include "broker/redis_shard.hpp"

#include "broker/redis_scripts.hpp"

#include <Poco/DigestEngine.h>
#include <Poco/SHA1Engine.h>

#include <charconv>

namespace eventnode::core {
namespace {

using Clock = std::chrono::steady_clock;

/// Requests sent in one pipelined round trip at most: bounds the time one caller waits behind others.
constexpr std::size_t kMaxPipeline = 512;
/// The subscriber pings after this long without a message, and reconnects when the PING goes unanswered.
constexpr auto kQuietBeforePing = std::chrono::seconds(3);
constexpr auto kPollStep = std::chrono::milliseconds(250);

std::string sha1Hex(std::string_view text) {
  Poco::SHA1Engine engine;
  engine.update(text.data(), static_cast<unsigned>(text.size()));
  return Poco::DigestEngine::digestToHex(engine.digest());
}

/// Short: while a connection is down its topics' publishes fail and its mirrors go stale. One
/// attempt a second per connection at most is nothing to Redis, and the jitter spreads the processes.
plugin::BackoffOptions reconnectBackoff() {
  return {.min = std::chrono::milliseconds(100), .max = std::chrono::milliseconds(1000)};
}

/// A server that lost the scripts (SCRIPT FLUSH, a restart between two
/// commands) answers NOSCRIPT, having run nothing.
bool lostScripts(const RedisReply& reply) {
  return reply.isError() && reply.str.rfind("NOSCRIPT", 0) == 0;
}

/// "<offset>:<epoch>:<live>:<data>" from the publish script.
bool parsePublication(std::string_view payload, std::uint64_t& offset, std::string& epoch, bool& live,
                      std::string_view& data) {
  const auto first = payload.find(':');
  if (first == std::string_view::npos) return false;
  const auto [end, error] = std::from_chars(payload.data(), payload.data() + first, offset);
  if (error != std::errc() || end != payload.data() + first || offset == 0) return false;
  const auto second = payload.find(':', first + 1);
  if (second == std::string_view::npos || second + 2 >= payload.size() || payload[second + 2] != ':') return false;
  epoch.assign(payload.substr(first + 1, second - first - 1));
  live = payload[second + 1] == '1';
  data = payload.substr(second + 3);
  return true;
}

}  // namespace

RedisShard::RedisShard(std::size_t index, RedisEndpoint endpoint, RedisShardSettings settings, BrokerSink& sink,
                       std::shared_ptr<spdlog::logger> logger)
    : index_(index),
      endpoint_(std::move(endpoint)),
      settings_(std::move(settings)),
      sink_(sink),
      logger_(std::move(logger)),
      publish_sha_(sha1Hex(redis_scripts::kPublish)),
      read_sha_(sha1Hex(redis_scripts::kRead)),
      reader_(endpoint_, settings_.timeout) {}

RedisShard::~RedisShard() {
  stop();
}

void RedisShard::start() {
  if (running_.exchange(true)) return;
  writer_thread_ = std::thread([this] { runWriter(); });
  subscriber_thread_ = std::thread([this] { runSubscriber(); });
  // A node whose Redis is there starts ready to publish; one whose Redis is not starts anyway, degraded.
  const auto deadline = Clock::now() + settings_.timeout + std::chrono::milliseconds(200);
  while (!first_attempt_done_.load() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

void RedisShard::stop() {
  if (!running_.exchange(false)) return;
  queue_ready_.notify_all();
  {
    std::lock_guard lock(pause_mutex_);
  }
  pause_wake_.notify_all();
  if (writer_thread_.joinable()) writer_thread_.join();
  if (subscriber_thread_.joinable()) subscriber_thread_.join();
  std::lock_guard lock(reader_mutex_);
  reader_.close();
}

std::string RedisShard::reason() const {
  if (healthy()) return {};
  std::lock_guard lock(reason_mutex_);
  return reason_;
}

void RedisShard::setReason(std::string reason) {
  std::lock_guard lock(reason_mutex_);
  if (reason != reason_) logger_->warn("redis shard={} {}", index_, reason);
  reason_ = std::move(reason);
}

RedisCommand RedisShard::evalsha(const std::string& sha, std::vector<std::string> keys, std::vector<std::string> args) {
  RedisCommand argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.push_back("EVALSHA");
  argv.push_back(sha);
  argv.push_back(std::to_string(keys.size()));
  for (auto& key : keys) argv.push_back(std::move(key));
  for (auto& arg : args) argv.push_back(std::move(arg));
  return argv;
}

void RedisShard::loadScripts(RedisLink& link) {
  for (const auto script : {redis_scripts::kPublish, redis_scripts::kRead}) {
    const auto reply = link.command({"SCRIPT", "LOAD", std::string(script)});
    if (reply.isError()) {
      link.close();
      throw RedisError(endpoint_.display() + " refused the broker's Lua scripts: " + reply.str);
    }
  }
}

void RedisShard::connectWriter(RedisLink& link) {
  link.connect();
  loadScripts(link);
}

bool RedisShard::pause(std::chrono::milliseconds delay) {
  std::unique_lock lock(pause_mutex_);
  pause_wake_.wait_for(lock, delay, [this] { return !running_.load(); });
  return running_.load();
}

void RedisShard::failAll(std::deque<std::unique_ptr<Request>>& requests, const std::string& reason) {
  for (auto& request : requests) request->reply.set_exception(std::make_exception_ptr(RedisError(reason)));
  requests.clear();
}

RedisReply RedisShard::call(RedisCommand argv) {
  auto reply = submit(std::move(argv));
  kick();
  return reply.get();
}

std::future<RedisReply> RedisShard::submit(RedisCommand argv) {
  if (!writer_up_.load()) {
    std::lock_guard lock(reason_mutex_);
    throw RedisError(reason_);
  }
  auto request = std::make_unique<Request>();
  request->argv = std::move(argv);
  auto reply = request->reply.get_future();
  std::lock_guard lock(queue_mutex_);
  queue_.push_back(std::move(request));
  return reply;
}

RedisReply RedisShard::query(const RedisCommand& argv) {
  std::lock_guard lock(reader_mutex_);
  // Reads are rare enough for the link to sit idle through a Redis restart: such a
  // link is replaced here, or the first read after the restart would fail on it.
  if (reader_.closedByServer()) reader_.close();
  if (!reader_.connected()) {
    reader_.connect();
    loadScripts(reader_);
  }
  auto reply = reader_.command(argv);
  if (!lostScripts(reply)) return reply;
  reloadLostScripts(reader_);
  return reader_.command(argv);
}

void RedisShard::reloadLostScripts(RedisLink& link) {
  logger_->warn("redis shard={} no longer held the broker's scripts; loading them again", index_);
  loadScripts(link);
}

void RedisShard::rerunWithoutScripts(RedisLink& link, const std::vector<RedisCommand>& commands,
                                     std::vector<RedisReply>& replies) {
  std::vector<std::size_t> refused;
  for (std::size_t i = 0; i < replies.size(); ++i) {
    if (lostScripts(replies[i])) refused.push_back(i);
  }
  if (refused.empty()) return;
  reloadLostScripts(link);
  std::vector<RedisCommand> again;
  again.reserve(refused.size());
  for (const auto i : refused) again.push_back(commands[i]);
  auto answers = link.pipeline(again);
  for (std::size_t k = 0; k < refused.size(); ++k) replies[refused[k]] = std::move(answers[k]);
}

void RedisShard::runWriter() {
  RedisLink link(endpoint_, settings_.timeout);
  plugin::Backoff backoff(reconnectBackoff());
  auto next_attempt = Clock::now();
  std::deque<std::unique_ptr<Request>> batch;
  std::vector<RedisCommand> commands;
  while (running_.load()) {
    if (!link.connected() && Clock::now() >= next_attempt) {
      try {
        connectWriter(link);
        writer_up_ = true;
        backoff.reset();
        logger_->info("redis shard={} connected to {}", index_, endpoint_.display());
      } catch (const RedisError& error) {
        setReason(error.what());
        next_attempt = Clock::now() + backoff.next();
      }
      first_attempt_done_ = true;
    }
    {
      std::unique_lock lock(queue_mutex_);
      const auto wake = link.connected() ? Clock::now() + std::chrono::seconds(1) : next_attempt;
      queue_ready_.wait_until(lock, wake, [this] { return !queue_.empty() || !running_.load(); });
      while (!queue_.empty() && batch.size() < kMaxPipeline) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (batch.empty()) continue;
    if (!running_.load()) break;
    if (!link.connected()) {
      std::lock_guard lock(reason_mutex_);
      failAll(batch, reason_);
      continue;
    }
    commands.clear();
    for (auto& request : batch) commands.push_back(std::move(request->argv));
    try {
      // The writer may have been idle through a Redis restart: connecting again
      // before sending keeps this batch from failing on the closed link.
      if (link.closedByServer()) connectWriter(link);
      auto replies = link.pipeline(commands);
      rerunWithoutScripts(link, commands, replies);
      for (std::size_t i = 0; i < batch.size(); ++i) batch[i]->reply.set_value(std::move(replies[i]));
      batch.clear();
    } catch (const RedisError& error) {
      writer_up_ = false;
      setReason(error.what());
      failAll(batch, error.what());
      next_attempt = Clock::now() + backoff.next();
    }
  }
  writer_up_ = false;
  std::lock_guard lock(queue_mutex_);
  batch.insert(batch.end(), std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
  queue_.clear();
  failAll(batch, "the broker is stopping");
}

void RedisShard::runSubscriber() {
  RedisLink link(endpoint_, settings_.timeout);
  plugin::Backoff backoff(reconnectBackoff());
  const auto topic_prefix = settings_.prefix + ".t.";
  const auto bus_prefix = settings_.prefix + ".bus.";
  while (running_.load()) {
    try {
      link.connect();
      link.send({"PSUBSCRIBE", topic_prefix + "*", bus_prefix + "*"});
      int confirmed = 0;
      const auto deadline = Clock::now() + settings_.timeout;
      while (confirmed < 2) {
        if (Clock::now() > deadline) throw RedisError(endpoint_.display() + " did not confirm PSUBSCRIBE");
        if (auto reply = link.next(kPollStep)) {
          if (reply->isError()) throw RedisError(endpoint_.display() + " refused PSUBSCRIBE: " + reply->str);
          ++confirmed;
        }
      }
      subscriber_up_ = true;
      backoff.reset();
      // Caught up after subscribing, so nothing published in between is missed.
      sink_.onSubscribed(index_);
      auto last_heard = Clock::now();
      bool pinged = false;
      while (running_.load()) {
        auto reply = link.next(kPollStep);
        const auto now = Clock::now();
        if (!reply) {
          if (!pinged && now - last_heard > kQuietBeforePing) {
            link.send({"PING"});
            pinged = true;
          } else if (pinged && now - last_heard > kQuietBeforePing + settings_.timeout) {
            throw RedisError(endpoint_.display() + " did not answer PING on the subscriber connection");
          }
          continue;
        }
        last_heard = now;
        pinged = false;
        if (reply->type != RedisReply::Type::Array || reply->elements.size() != 4 ||
            reply->elements[0].str != "pmessage")
          continue;  // PING's answer
        const auto& channel = reply->elements[2].str;
        const std::string_view payload = reply->elements[3].str;
        try {
          if (channel.rfind(topic_prefix, 0) == 0) {
            std::uint64_t offset = 0;
            std::string epoch;
            bool live = true;
            std::string_view data;
            if (!parsePublication(payload, offset, epoch, live, data)) {
              logger_->warn("redis shard={} ignored a malformed message on {}", index_, channel);
              continue;
            }
            sink_.onPublication(index_, channel.substr(topic_prefix.size()), offset, epoch, live, data);
          } else if (channel.rfind(bus_prefix, 0) == 0) {
            sink_.onBusMessage(channel.substr(bus_prefix.size()), payload);
          }
        } catch (const RedisError&) {
          throw;
        } catch (const std::exception& error) {
          logger_->error("redis shard={} message on {} not handled: {}", index_, channel, error.what());
        }
      }
    } catch (const RedisError& error) {
      subscriber_up_ = false;
      setReason(error.what());
      link.close();
      if (!pause(backoff.next())) break;
    }
  }
  subscriber_up_ = false;
}

}  // namespace eventnode::core
