#include "broker/shard_hash.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace eventnode::core {
namespace {

TEST(Unit, TopicsSpreadEvenlyOverShardsAndStayPut) {
  constexpr std::size_t kTopics = 10000;
  for (const std::size_t shards : {2u, 3u, 8u}) {
    std::vector<std::size_t> counts(shards);
    for (std::size_t i = 0; i < kTopics; ++i) ++counts[shardOf("user:" + std::to_string(i), shards)];
    for (const auto count : counts) {
      EXPECT_GT(count, kTopics / shards * 8 / 10) << shards << " shards";
      EXPECT_LT(count, kTopics / shards * 12 / 10) << shards << " shards";
    }
  }
  EXPECT_EQ(shardOf("anything", 1), 0u);
  EXPECT_EQ(shardOf("user:alice", 4), shardOf("user:alice", 4)) << "the same topic, the same shard";
}

TEST(Unit, AddingAShardMovesOnlyAboutItsShareOfTopics) {
  constexpr std::size_t kTopics = 10000;
  std::size_t moved = 0;
  for (std::size_t i = 0; i < kTopics; ++i) {
    const auto topic = "t" + std::to_string(i);
    const auto before = shardOf(topic, 4);
    const auto after = shardOf(topic, 5);
    if (before != after) {
      ++moved;
      EXPECT_EQ(after, 4u) << "a topic only ever moves to the new shard";
    }
  }
  EXPECT_LT(moved, kTopics * 25 / 100);  // about 1/5
  EXPECT_GT(moved, kTopics * 15 / 100);
}

TEST(Unit, Fnv1a64MatchesTheReferenceValues) {
  EXPECT_EQ(fnv1a64(""), 14695981039346656037ULL);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ULL);
}

}  // namespace
}  // namespace eventnode::core
