#include "dedup.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace eventnode::plugins::solana_listener {
namespace {

TEST(RecentSignatures, InsertsOnceAndReportsDuplicates) {
  RecentSignatures recent(4);
  EXPECT_TRUE(recent.insert("a"));
  EXPECT_FALSE(recent.insert("a"));
  EXPECT_TRUE(recent.contains("a"));
  EXPECT_FALSE(recent.contains("b"));
  EXPECT_EQ(recent.size(), 1u);
  EXPECT_EQ(recent.capacity(), 4u);
}

TEST(RecentSignatures, EvictsTheOldestWhenFull) {
  RecentSignatures recent(3);
  for (const char* s : {"s1", "s2", "s3"}) EXPECT_TRUE(recent.insert(s));
  EXPECT_FALSE(recent.insert("s1"));  // a duplicate does not refresh or evict
  EXPECT_TRUE(recent.insert("s4"));
  EXPECT_FALSE(recent.contains("s1"));
  EXPECT_TRUE(recent.contains("s2"));
  EXPECT_TRUE(recent.contains("s4"));
  EXPECT_EQ(recent.size(), 3u);
  EXPECT_TRUE(recent.insert("s1"));  // forgotten, so new again
  EXPECT_FALSE(recent.contains("s2"));
}

TEST(RecentSignatures, HoldsExactlyCapacityOverManyInserts) {
  RecentSignatures recent(100);
  for (int i = 0; i < 10'000; ++i) {
    // Long strings, like real 88-character signatures, outside the small-string buffer.
    ASSERT_TRUE(recent.insert("signature-" + std::to_string(i) + std::string(70, 'x')));
  }
  EXPECT_EQ(recent.size(), 100u);
  EXPECT_TRUE(recent.contains("signature-9999" + std::string(70, 'x')));
  EXPECT_TRUE(recent.contains("signature-9900" + std::string(70, 'x')));
  EXPECT_FALSE(recent.contains("signature-9899" + std::string(70, 'x')));
}

TEST(RecentSignatures, ClearForgetsEverything) {
  RecentSignatures recent(2);
  recent.insert("a");
  recent.insert("b");
  recent.clear();
  EXPECT_EQ(recent.size(), 0u);
  EXPECT_TRUE(recent.insert("a"));
  EXPECT_TRUE(recent.insert("b"));
  EXPECT_TRUE(recent.insert("c"));
  EXPECT_FALSE(recent.contains("a"));
}

TEST(RecentSignatures, CapacityOneKeepsTheLast) {
  RecentSignatures recent(1);
  EXPECT_TRUE(recent.insert("a"));
  EXPECT_TRUE(recent.insert("b"));
  EXPECT_FALSE(recent.contains("a"));
  EXPECT_FALSE(recent.insert("b"));
}

TEST(RecentSignatures, RefusesZeroCapacity) {
  EXPECT_THROW(RecentSignatures(0), std::invalid_argument);
}

}  // namespace
}  // namespace eventnode::plugins::solana_listener
