#include "latency_window.hpp"

#include <gtest/gtest.h>

namespace eventnode::plugins::solana_listener {
namespace {

using std::chrono::microseconds;

TEST(LatencyWindow, AnEmptyWindowHasNoFigures) {
  const auto summary = LatencyWindow(8).summary();
  EXPECT_EQ(summary["samples"], 0);
  EXPECT_TRUE(summary["p50_ms"].is_null());
  EXPECT_TRUE(summary["p99_ms"].is_null());
  EXPECT_TRUE(summary["max_ms"].is_null());
}

TEST(LatencyWindow, PercentilesAreNearestRankInMilliseconds) {
  LatencyWindow window(100);
  for (int i = 100; i >= 1; --i) window.add(microseconds(i * 1000));  // 1..100 ms, out of order
  const auto summary = window.summary();
  EXPECT_EQ(summary["samples"], 100);
  EXPECT_DOUBLE_EQ(summary["p50_ms"].get<double>(), 50.0);
  EXPECT_DOUBLE_EQ(summary["p99_ms"].get<double>(), 99.0);
  EXPECT_DOUBLE_EQ(summary["max_ms"].get<double>(), 100.0);
}

TEST(LatencyWindow, OnlyTheMostRecentSamplesCount) {
  LatencyWindow window(4);
  for (int i = 0; i < 4; ++i) window.add(microseconds(90'000));  // an old slow spell
  for (int i = 0; i < 4; ++i) window.add(microseconds(1'500));   // pushes it out
  const auto summary = window.summary();
  EXPECT_EQ(summary["samples"], 4);
  EXPECT_DOUBLE_EQ(summary["p99_ms"].get<double>(), 1.5);
  EXPECT_DOUBLE_EQ(summary["max_ms"].get<double>(), 1.5);
}

}  // namespace
}  // namespace eventnode::plugins::solana_listener
