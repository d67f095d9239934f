#include "gateway/topic_registry.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace eventnode::core {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using plugin::Json;

/// Publishes one event the way the gateway does: offset, history, trim, under the topic's lock.
void publish(TopicState& state, Clock::time_point at = Clock::now()) {
  std::lock_guard lock(state.mutex);
  ++state.offset;
  auto frame = std::make_shared<OutboundFrame>();
  const auto data = Json{{"n", state.offset}}.dump();
  frame->bytes = "event " + data;
  frame->data_at = frame->bytes.size() - data.size();
  frame->data_size = data.size();
  state.history.push_back({state.offset, at, frame});
  state.last_publish = at;
  state.trim(at);
}

void publish(TopicState& state, int count) {
  for (int i = 0; i < count; ++i) publish(state);
}

std::vector<std::uint64_t> offsets(const TopicSnapshot& snapshot) {
  std::vector<std::uint64_t> out;
  for (const auto& entry : snapshot.missed) out.push_back(entry.offset);
  return out;
}

using Offsets = std::vector<std::uint64_t>;

TEST(TopicRegistry, SnapshotWithoutSinceGivesThePositionOnly) {
  TopicState state("prices", {10, 0s});
  publish(state, 3);
  const auto snapshot = snapshotTopic(state, nullptr, nullptr);
  EXPECT_EQ(snapshot.offset, 3u);
  EXPECT_EQ(snapshot.epoch, state.epoch);
  EXPECT_FALSE(snapshot.epoch.empty());
  EXPECT_FALSE(snapshot.recovered);
  EXPECT_TRUE(snapshot.missed.empty());
}

TEST(TopicRegistry, ASubscribersSnapshotMarksItsLoopAndLoopsPastTheTrackedOnesHaveNoBit) {
  TopicState state("prices", {10, 0s});
  EXPECT_EQ(state.loops_subscribed.load(), 0u);
  snapshotTopic(state, nullptr, nullptr, loopBit(0));
  snapshotTopic(state, nullptr, nullptr, loopBit(5));
  EXPECT_EQ(state.loops_subscribed.load(), (1u << 0) | (1u << 5));
  EXPECT_EQ(loopBit(kTrackedLoops - 1), std::uint64_t{1} << 63);
  EXPECT_EQ(loopBit(kTrackedLoops), 0u);
}

TEST(TopicRegistry, SnapshotOfANewTopicStartsAtOffsetZero) {
  TopicState state("prices", {10, 0s});
  const std::uint64_t since = 0;
  const auto snapshot = snapshotTopic(state, &since, nullptr);
  EXPECT_EQ(snapshot.offset, 0u);
  EXPECT_TRUE(snapshot.recovered);
  EXPECT_TRUE(snapshot.missed.empty());
}

TEST(TopicRegistry, RecoversWhenHistoryCoversSince) {
  TopicState state("prices", {5, 0s});
  publish(state, 3);
  struct Case {
    std::uint64_t since;
    Offsets missed;
  };
  const Case cases[] = {{0, {1, 2, 3}}, {1, {2, 3}}, {2, {3}}};
  for (const auto& c : cases) {
    SCOPED_TRACE("since " + std::to_string(c.since));
    const auto snapshot = snapshotTopic(state, &c.since, &state.epoch);
    EXPECT_EQ(snapshot.offset, 3u);
    EXPECT_TRUE(snapshot.recovered);
    EXPECT_EQ(offsets(snapshot), c.missed);
    for (const auto& entry : snapshot.missed) {
      ASSERT_NE(entry.frame, nullptr);
      EXPECT_EQ(entry.frame->bytes, "event " + (Json{{"n", entry.offset}}).dump());
      EXPECT_EQ(entry.frame->data()["n"], entry.offset);
    }
  }
}

TEST(TopicRegistry, SinceAtTheCurrentOffsetRecoversWithNothingMissed) {
  TopicState state("prices", {5, 0s});
  publish(state, 4);
  const std::uint64_t since = 4;
  const auto snapshot = snapshotTopic(state, &since, &state.epoch);
  EXPECT_EQ(snapshot.offset, 4u);
  EXPECT_TRUE(snapshot.recovered);
  EXPECT_TRUE(snapshot.missed.empty());

  // Also when the topic keeps no history at all.
  TopicState bare("ticks", {0, 0s});
  publish(bare, 4);
  const auto bare_snapshot = snapshotTopic(bare, &since, nullptr);
  EXPECT_TRUE(bare_snapshot.recovered);
  EXPECT_TRUE(bare_snapshot.missed.empty());
}

TEST(TopicRegistry, DoesNotRecoverWhenSizeTrimmedHistoryPastSince) {
  TopicState state("prices", {3, 0s});
  publish(state, 10);  // keeps 8, 9, 10
  ASSERT_EQ(state.history.size(), 3u);
  struct Case {
    std::uint64_t since;
    bool recovered;
    Offsets missed;
  };
  const Case cases[] = {
      {0, false, {8, 9, 10}}, {5, false, {8, 9, 10}}, {6, false, {8, 9, 10}},
      {7, true, {8, 9, 10}},  {9, true, {10}},        {10, true, {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("since " + std::to_string(c.since));
    const auto snapshot = snapshotTopic(state, &c.since, &state.epoch);
    EXPECT_EQ(snapshot.offset, 10u);
    EXPECT_EQ(snapshot.recovered, c.recovered);
    EXPECT_EQ(offsets(snapshot), c.missed);
  }
}

TEST(TopicRegistry, DoesNotRecoverWhenTopicKeepsNoHistory) {
  TopicState state("ticks", {0, 0s});
  publish(state, 3);
  const std::uint64_t since = 2;
  const auto snapshot = snapshotTopic(state, &since, nullptr);
  EXPECT_FALSE(snapshot.recovered);
  EXPECT_TRUE(snapshot.missed.empty());
}

TEST(TopicRegistry, DoesNotRecoverWhenTtlExpiredEntriesPastSince) {
  TopicState state("prices", {100, 60s});
  const auto now = Clock::now();
  // Built directly, as if published two minutes ago, then just now.
  for (std::uint64_t offset = 1; offset <= 5; ++offset) {
    state.history.push_back({offset, offset <= 3 ? now - 120s : now, std::make_shared<OutboundFrame>()});
  }
  state.offset = 5;
  state.last_publish = now;

  const std::uint64_t since_trimmed = 2;
  const auto trimmed = snapshotTopic(state, &since_trimmed, &state.epoch);
  EXPECT_EQ(trimmed.offset, 5u);
  EXPECT_FALSE(trimmed.recovered);
  EXPECT_EQ(offsets(trimmed), (Offsets{4, 5}));

  const std::uint64_t since_kept = 3;
  const auto kept = snapshotTopic(state, &since_kept, &state.epoch);
  EXPECT_TRUE(kept.recovered);
  EXPECT_EQ(offsets(kept), (Offsets{4, 5}));
}

TEST(TopicRegistry, DoesNotRecoverWhenEveryEntryExpired) {
  TopicState state("prices", {100, 60s});
  const auto old = Clock::now() - 300s;
  for (std::uint64_t offset = 1; offset <= 3; ++offset) {
    state.history.push_back({offset, old, std::make_shared<OutboundFrame>()});
  }
  state.offset = 3;
  const std::uint64_t since = 1;
  const auto snapshot = snapshotTopic(state, &since, nullptr);
  EXPECT_EQ(snapshot.offset, 3u);
  EXPECT_FALSE(snapshot.recovered);
  EXPECT_TRUE(snapshot.missed.empty());
  EXPECT_TRUE(state.history.empty());
}

TEST(TopicRegistry, EpochMismatchReplaysTheWholeHistoryWithoutRecovering) {
  TopicState state("prices", {5, 0s});
  publish(state, 4);
  const std::string other_epoch = state.epoch == "0000aaaa" ? "0000bbbb" : "0000aaaa";
  for (const std::uint64_t since : {0u, 2u, 4u, 9u}) {
    SCOPED_TRACE("since " + std::to_string(since));
    const auto snapshot = snapshotTopic(state, &since, &other_epoch);
    EXPECT_EQ(snapshot.offset, 4u);
    EXPECT_EQ(snapshot.epoch, state.epoch);
    EXPECT_FALSE(snapshot.recovered);
    EXPECT_EQ(offsets(snapshot), (Offsets{1, 2, 3, 4}));
  }
}

TEST(TopicRegistry, EmptyOrAbsentEpochCountsAsTheSameEpoch) {
  TopicState state("prices", {5, 0s});
  publish(state, 4);
  const std::uint64_t since = 2;
  const std::string empty;
  const std::string* epochs[] = {nullptr, &empty, &state.epoch};
  for (const auto* epoch : epochs) {
    const auto snapshot = snapshotTopic(state, &since, epoch);
    EXPECT_TRUE(snapshot.recovered);
    EXPECT_EQ(offsets(snapshot), (Offsets{3, 4}));
  }
}

TEST(TopicRegistry, SinceBeyondTheCurrentOffsetDoesNotRecover) {
  TopicState state("prices", {5, 0s});
  publish(state, 4);
  const std::uint64_t since = 7;  // from an earlier life of the topic
  const auto snapshot = snapshotTopic(state, &since, nullptr);
  EXPECT_FALSE(snapshot.recovered);
  EXPECT_EQ(snapshot.offset, 4u);
}

TopicRules publicRules() {
  TopicRules rules;
  rules.add({"kept.*", plugin::TopicAccess::Public, {10, 0s}, "test"});
  rules.add({"*", plugin::TopicAccess::Public, {0, 0s}, "test"});
  rules.freeze();
  return rules;
}

TEST(TopicRegistry, GetReturnsOneStatePerTopicWithItsRulesHistory) {
  const auto rules = publicRules();
  TopicRegistry registry(rules);
  const auto a = registry.get("kept.a");
  EXPECT_EQ(registry.get("kept.a"), a);
  EXPECT_NE(registry.get("other"), a);
  EXPECT_EQ(registry.size(), 2u);
  EXPECT_EQ(a->name, "kept.a");
  EXPECT_EQ(a->policy.size, 10u);
  EXPECT_EQ(registry.get("other")->policy.size, 0u);
}

TEST(TopicRegistry, SweepForgetsIdleEmptyTopicsNobodyHolds) {
  const auto rules = publicRules();
  TopicRegistry registry(rules);
  const auto held = registry.get("held");
  std::string forgotten_epoch;
  {
    auto idle = registry.get("idle");
    std::lock_guard lock(idle->mutex);
    idle->last_publish = Clock::now() - 2h;
    forgotten_epoch = idle->epoch;
  }
  publish(*registry.get("kept.with_history"));
  {
    auto recent = registry.get("recent");
    std::lock_guard lock(recent->mutex);
    recent->last_publish = Clock::now();
  }
  ASSERT_EQ(registry.size(), 4u);

  registry.sweep(3600s);
  EXPECT_EQ(registry.size(), 3u) << "only 'idle' has been idle for an hour";

  registry.sweep(0s);
  EXPECT_EQ(registry.size(), 2u) << "'held' and 'kept.with_history' stay";
  EXPECT_EQ(registry.get("held"), held);
  EXPECT_EQ(registry.get("kept.with_history")->offset, 1u);
  EXPECT_EQ(registry.size(), 2u);

  // A forgotten topic comes back as a new one.
  const auto again = registry.get("idle");
  EXPECT_EQ(again->offset, 0u);
  EXPECT_NE(again->epoch, forgotten_epoch);  // random: equal by chance once in 2^32
  EXPECT_EQ(registry.size(), 3u);
}

}  // namespace
}  // namespace eventnode::core
