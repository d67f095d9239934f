// The gateway's side of the Redis broker. Each process keeps a mirror of
// every topic it has seen: Redis's epoch and last offset, and the history
// from `mirror_from` on without a hole. Publications arrive in offset order
// from the subscriber connection; anything the mirror lacks (a subscriber
// that was away, a topic first seen by a subscriber with `since`) is read
// from Redis and merged, so each offset reaches each connection once, in order.
#include "gateway/gateway.hpp"

#include "gateway/client_protocol.hpp"

#include <chrono>

namespace eventnode::core {
namespace {

/// Most entries one catch-up read asks for; a larger hole is read in several.
constexpr std::size_t kCatchUpBatch = 10000;

}  // namespace

void Gateway::onPublication(std::size_t, const std::string& topic, std::uint64_t offset, const std::string& epoch,
                            bool live, std::string_view data) {
  if (!isValidTopic(topic)) return;
  const auto state = topics_.get(topic);
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::string> for_bus;
  std::unique_lock lock(state->mutex);
  if (!state->position_known) {
    // First sight of this topic here: the mirror starts with this event.
    state->epoch = epoch;
    state->offset = offset - 1;
    state->mirror_from = offset;
    state->position_known = true;
  } else if (state->epoch != epoch) {
    // Redis lost the topic (a restart without persistence): its events start
    // again from 1 in a new epoch, read below if this one is not the first.
    resetPosition(state, epoch, 0);
  }
  if (offset <= state->offset) return;  // a read from Redis delivered it already
  if (offset > state->offset + 1) {
    const auto from = state->offset + 1;
    lock.unlock();
    std::optional<BrokerHistory> missed;
    try {
      missed = broker_->read(topic, from, offset - from);
    } catch (const BrokerUnavailable& error) {
      logger_->warn("topic={} events {}..{} not read from Redis: {}", topic, from, offset - 1, error.what());
    }
    lock.lock();
    if (missed && missed->top.epoch == state->epoch) for_bus = merge(state, *missed, now);
    if (state->offset + 1 < offset) {
      const auto lost = offset - 1 - state->offset;
      logger_->warn("topic={} events {}..{} were missed and are no longer in Redis's history", topic,
                    state->offset + 1, offset - 1);
      metrics_.drop(DropReason::HistoryGap, lost);
      state->offset = offset - 1;
    }
    if (offset <= state->offset) return;
  }
  state->offset = offset;
  record(state, offset, live, data, now);
  lock.unlock();
  for (const auto& text : for_bus) publishToLocalBus(topic, text);
  if (live) publishToLocalBus(topic, data);
}

void Gateway::onBusMessage(const std::string& topic, std::string_view data) {
  if (!isValidTopic(topic) || !bus_.hasSubscriber(topic)) return;
  auto parsed = plugin::readJson(data);
  if (!parsed.ok()) {
    logger_->warn("bus message on {} from Redis ignored: {}", topic, parsed.error);
    return;
  }
  bus_.publish(topic, parsed.value);
}

void Gateway::onSubscribed(std::size_t shard) {
  // What was published while this process was not subscribed reaches its clients now.
  for (const auto& state : topics_.all()) {
    if (broker_->shardOf(state->name) == shard) catchUp(state);
  }
}

void Gateway::catchUp(const std::shared_ptr<TopicState>& state) {
  for (int round = 0; round < 2; ++round) {
    std::uint64_t from = 0;
    std::string epoch;
    {
      std::lock_guard lock(state->mutex);
      if (!state->position_known) return;
      from = state->offset + 1;
      epoch = state->epoch;
    }
    BrokerHistory read;
    try {
      read = broker_->read(state->name, from, kCatchUpBatch);
    } catch (const BrokerUnavailable& error) {
      logger_->warn("topic={} not caught up: {}", state->name, error.what());
      return;
    }
    if (read.top.epoch == epoch && read.top.offset < from) return;  // nothing new
    std::vector<std::string> for_bus;
    {
      std::lock_guard lock(state->mutex);
      if (read.top.epoch != state->epoch) {
        resetPosition(state, read.top.epoch, 0);
        continue;  // read again from 1
      }
      for_bus = merge(state, read, std::chrono::steady_clock::now());
    }
    for (const auto& text : for_bus) publishToLocalBus(state->name, text);
    if (read.entries.size() < kCatchUpBatch) return;
  }
}

void Gateway::syncTopic(const std::shared_ptr<TopicState>& state, std::uint64_t from, std::function<void()> done) {
  // With the shard down, each read would wait for its timeout and hold up every
  // subscribe behind it: the mirror answers instead (recovered:false where it cannot).
  if (!broker_->reachable(state->name)) {
    done();
    return;
  }
  try {
    const auto read = broker_->read(state->name, from, std::max<std::size_t>(state->policy.size, 1));
    std::vector<std::string> for_bus;
    bool new_epoch = false;
    {
      std::lock_guard lock(state->mutex);
      new_epoch = state->position_known && read.top.epoch != state->epoch;
      if (new_epoch) {
        resetPosition(state, read.top.epoch, 0);
      } else {
        for_bus = merge(state, read, std::chrono::steady_clock::now());
      }
    }
    for (const auto& text : for_bus) publishToLocalBus(state->name, text);
    if (new_epoch) catchUp(state);  // the new epoch's events, from 1
  } catch (const BrokerUnavailable& error) {
    logger_->warn("topic={} answered from this process's mirror only: {}", state->name, error.what());
  }
  done();
}

std::vector<std::string> Gateway::merge(const std::shared_ptr<TopicState>& topic, const BrokerHistory& read,
                                        std::chrono::steady_clock::time_point now) {
  auto& state = *topic;
  std::vector<std::string> for_bus;
  if (!state.position_known) {
    // Redis's history as it stands: for subscribers asking for it, not news to deliver.
    state.epoch = read.top.epoch;
    state.offset = read.top.offset;
    state.position_known = true;
    state.history.clear();
    for (const auto& entry : read.entries) {
      if (entry.offset > state.offset) break;
      state.history.push_back({entry.offset, now, eventFrame(state.name, entry.offset, entry.data, now)});
    }
    state.mirror_from = state.history.empty() ? state.offset + 1 : state.history.front().offset;
    state.trim(now);
    return for_bus;
  }
  if (read.top.epoch != state.epoch) return for_bus;
  // Older entries go in front when they join the mirror without a hole.
  std::vector<const BrokerEntry*> older;
  for (const auto& entry : read.entries) {
    if (entry.offset < state.mirror_from) older.push_back(&entry);
  }
  bool contiguous = !older.empty() && older.back()->offset + 1 == state.mirror_from;
  for (std::size_t i = 1; contiguous && i < older.size(); ++i)
    contiguous = older[i - 1]->offset + 1 == older[i]->offset;
  if (contiguous) {
    for (auto it = older.rbegin(); it != older.rend(); ++it)
      state.history.push_front({(*it)->offset, now, eventFrame(state.name, (*it)->offset, (*it)->data, now)});
    state.mirror_from = older.front()->offset;
    state.trim(now);
  }
  // Newer entries are news: delivered as they would have been live.
  const bool bus_wants = bus_.hasSubscriber(state.name);
  for (const auto& entry : read.entries) {
    if (entry.offset != state.offset + 1) continue;
    state.offset = entry.offset;
    record(topic, entry.offset, entry.live, entry.data, now);
    if (bus_wants && entry.live) for_bus.push_back(entry.data);
  }
  return for_bus;
}

void Gateway::resetPosition(const std::shared_ptr<TopicState>& topic, const std::string& epoch, std::uint64_t offset) {
  auto& state = *topic;
  logger_->warn("topic={} starts again in a new epoch {} (was {}): Redis no longer holds its history", state.name,
                epoch, state.epoch);
  state.epoch = epoch;
  state.offset = offset;
  state.history.clear();
  state.mirror_from = offset + 1;
  const auto subscribed = state.loops_subscribed.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < loops_.size(); ++i) {
    if (i >= kTrackedLoops || (subscribed & loopBit(i)) != 0) loops_[i]->post(EpochResetTask{topic, offset, epoch});
  }
}

bool Gateway::isLocalBusTopic(const std::string& topic) const {
  return std::any_of(local_bus_topics_.begin(), local_bus_topics_.end(),
                     [&](const std::string& pattern) { return topicMatches(pattern, topic); });
}

plugin::Json Gateway::describeServer() const {
  auto description = stats();
  description["role"] = config_.node.role;
  description["address"] = config_.server.listen + ":" + std::to_string(config_.server.port);
  description["updated_at"] =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  return description;
}

plugin::Json Gateway::clusterStats() {
  std::vector<plugin::Json> servers;
  if (broker_) {
    servers = broker_->servers();
  } else {
    servers.push_back(describeServer());
  }
  std::sort(servers.begin(), servers.end(), [](const plugin::Json& a, const plugin::Json& b) {
    return a.value("server_id", std::string()) < b.value("server_id", std::string());
  });
  std::uint64_t connections = 0;
  std::uint64_t users = 0;
  for (const auto& server : servers) {
    connections += server.value("total_connections", std::uint64_t{0});
    users += server.value("active_users", std::uint64_t{0});
  }
  return {{"scope", "cluster"}, {"servers", servers}, {"total_connections", connections}, {"active_users", users}};
}

plugin::Json Gateway::brokerHealth() const {
  if (!broker_) return {{"type", "memory"}, {"state", "ok"}};
  return broker_->health();
}

}  // namespace eventnode::core
