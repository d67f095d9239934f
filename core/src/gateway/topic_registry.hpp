#pragma once
// Every topic's offset counter, epoch and bounded history. Publishing takes
// the topic's lock for offset assignment, history append and hand-off to the
// I/O threads together, so each thread sees a topic's events in offset order
// and a subscriber's history snapshot lines up exactly with live delivery.
#include <eventnode/plugin/json.hpp>

#include "gateway/outbound_frame.hpp"
#include "topics/topic_rules.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace eventnode::core {

struct HistoryEntry {
  std::uint64_t offset = 0;
  std::chrono::steady_clock::time_point at;
  FramePtr frame;  ///< its data() is what filters see during replay
};

/// A new random epoch: 8 hex digits.
std::string newEpoch();

struct TopicState {
  /// `position_from_broker`: the epoch and offsets come from the Redis broker
  /// and are unknown until it says; otherwise this process makes them up.
  TopicState(std::string topic_name, HistoryPolicy history_policy, bool position_from_broker = false);

  const std::string name;
  const HistoryPolicy policy;
  std::mutex mutex;
  std::string epoch;         ///< changes when the topic is created anew (node restart, idle expiry, Redis data lost)
  std::uint64_t offset = 0;  ///< the last offset given out; the first event gets 1
  /// With the Redis broker: whether `epoch` and `offset` are Redis's yet, and
  /// the first offset from which `history` mirrors Redis's without a hole.
  bool position_known = true;
  std::uint64_t mirror_from = 1;
  std::deque<HistoryEntry> history;
  /// When this process last told the user's connections that events over the
  /// user's limit were kept in history only (once a minute).
  std::chrono::steady_clock::time_point kept_notice_at;
  std::chrono::steady_clock::time_point last_publish;
  // user_events_per_minute window (user:<id> topics only)
  std::chrono::steady_clock::time_point window_start;
  std::uint32_t window_count = 0;
  /// Bit i is set while I/O thread i holds a subscriber of this topic, so a
  /// publish wakes only those threads (threads past the 64th are always
  /// woken). Set under `mutex` when a subscriber takes its snapshot, so every
  /// event after the snapshot reaches its thread; cleared by that thread alone.
  std::atomic<std::uint64_t> loops_subscribed{0};

  /// Drops entries past the size or the TTL. Caller holds `mutex`.
  void trim(std::chrono::steady_clock::time_point now);
};

/// What a subscriber gets when it joins a topic: the current position and
/// the events it missed, taken under the topic's lock.
struct TopicSnapshot {
  std::uint64_t offset = 0;
  std::string epoch;
  bool recovered = false;
  std::vector<HistoryEntry> missed;
};

/// I/O threads with an index below this have a bit in TopicState::loops_subscribed.
inline constexpr std::size_t kTrackedLoops = 64;

/// The loops_subscribed bit of I/O thread `loop_index` (0 past kTrackedLoops).
inline std::uint64_t loopBit(std::size_t loop_index) {
  return loop_index < kTrackedLoops ? std::uint64_t{1} << loop_index : 0;
}

/// Position and, when `since` is given, the events after it (matching epoch if
/// one is given), taken under the topic's lock. `subscriber_loop_bit` (see
/// loopBit) is set in loops_subscribed under the same lock.
TopicSnapshot snapshotTopic(TopicState& state, const std::uint64_t* since, const std::string* epoch,
                            std::uint64_t subscriber_loop_bit = 0);

/// With the Redis broker: whether a subscriber needs the topic read from
/// Redis first (its position is unknown, or `since` is older than the mirror).
bool needsBrokerRead(TopicState& state, const std::uint64_t* since, bool confirm);

class TopicRegistry {
 public:
  explicit TopicRegistry(const TopicRules& rules) : rules_(rules) {}

  /// Topics created from now on take their position from the broker.
  void positionsFromBroker() { position_from_broker_ = true; }
  /// Every topic known now.
  std::vector<std::shared_ptr<TopicState>> all() const;

  /// The topic's state, created on first use. Thread-safe.
  std::shared_ptr<TopicState> get(const std::string& topic);

  /// Forgets topics that nobody holds (no subscriber keeps a reference), with no
  /// history left and no event for `idle`; their next event starts a new epoch.
  void sweep(std::chrono::seconds idle);

  std::size_t size() const;

 private:
  const TopicRules& rules_;
  bool position_from_broker_ = false;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<TopicState>> topics_;
};

}  // namespace eventnode::core
