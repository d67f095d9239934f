#include "gateway/topic_registry.hpp"

#include <random>

namespace eventnode::core {
std::string newEpoch() {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  auto bits = random();
  std::string epoch(8, '0');
  for (auto& c : epoch) {
    c = kHex[bits & 0xF];
    bits >>= 4;
  }
  return epoch;
}

TopicState::TopicState(std::string topic_name, HistoryPolicy history_policy, bool position_from_broker)
    : name(std::move(topic_name)),
      policy(history_policy),
      epoch(position_from_broker ? std::string() : newEpoch()),
      position_known(!position_from_broker) {}

void TopicState::trim(std::chrono::steady_clock::time_point now) {
  while (history.size() > policy.size) history.pop_front();
  if (policy.ttl.count() > 0) {
    while (!history.empty() && now - history.front().at > policy.ttl) history.pop_front();
  }
}

std::shared_ptr<TopicState> TopicRegistry::get(const std::string& topic) {
  {
    std::shared_lock lock(mutex_);
    if (const auto it = topics_.find(topic); it != topics_.end()) return it->second;
  }
  std::unique_lock lock(mutex_);
  auto& state = topics_[topic];
  if (!state) state = std::make_shared<TopicState>(topic, rules_.historyFor(topic), position_from_broker_);
  return state;
}

TopicSnapshot snapshotTopic(TopicState& state, const std::uint64_t* since, const std::string* epoch,
                            std::uint64_t subscriber_loop_bit) {
  TopicSnapshot result;
  std::lock_guard lock(state.mutex);
  state.loops_subscribed.fetch_or(subscriber_loop_bit, std::memory_order_relaxed);
  state.trim(std::chrono::steady_clock::now());
  result.offset = state.offset;
  result.epoch = state.epoch;
  if (!since) return result;
  const bool same_epoch = !epoch || epoch->empty() || *epoch == state.epoch;
  const auto first_kept = state.history.empty() ? state.offset + 1 : state.history.front().offset;
  // Covered when nothing after `since` is missing from history: either it is
  // all there, or nothing was published after `since`.
  result.recovered = same_epoch && *since <= state.offset && *since + 1 >= first_kept;
  for (const auto& entry : state.history) {
    if (!same_epoch || entry.offset > *since) result.missed.push_back(entry);
  }
  return result;
}

void TopicRegistry::sweep(std::chrono::seconds idle) {
  const auto now = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_);
  for (auto it = topics_.begin(); it != topics_.end();) {
    auto& state = *it->second;
    std::unique_lock topic_lock(state.mutex, std::try_to_lock);
    bool forget = false;
    if (topic_lock.owns_lock()) {
      state.trim(now);
      forget = state.history.empty() && now - state.last_publish > idle && it->second.use_count() == 1;
    }
    if (forget) {
      topic_lock.unlock();
      it = topics_.erase(it);
    } else {
      ++it;
    }
  }
}

std::vector<std::shared_ptr<TopicState>> TopicRegistry::all() const {
  std::shared_lock lock(mutex_);
  std::vector<std::shared_ptr<TopicState>> states;
  states.reserve(topics_.size());
  for (const auto& [name, state] : topics_) states.push_back(state);
  return states;
}

bool needsBrokerRead(TopicState& state, const std::uint64_t* since, bool confirm) {
  std::lock_guard lock(state.mutex);
  if (!state.position_known) return since != nullptr || confirm;
  return since != nullptr && *since + 1 < state.mirror_from;
}

std::size_t TopicRegistry::size() const {
  std::shared_lock lock(mutex_);
  return topics_.size();
}

}  // namespace eventnode::core
