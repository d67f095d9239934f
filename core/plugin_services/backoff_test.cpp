#include <eventnode/plugin/backoff.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <vector>

namespace eventnode::plugin {
namespace {

using std::chrono::milliseconds;

std::vector<long long> delays(Backoff& backoff, int count) {
  std::vector<long long> out;
  for (int i = 0; i < count; ++i) out.push_back(backoff.next().count());
  return out;
}

TEST(Backoff, StepsDoubleFromMinUpToMaxWithoutJitter) {
  Backoff backoff({.min = milliseconds(1000), .max = milliseconds(60000), .full_jitter = false}, 1);
  EXPECT_EQ(delays(backoff, 8), (std::vector<long long>{1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000}));
  EXPECT_EQ(backoff.failures(), 8u);
}

TEST(Backoff, ResetAfterASuccessStartsAgainFromMin) {
  Backoff backoff({.min = milliseconds(250), .max = milliseconds(10000), .full_jitter = false}, 1);
  delays(backoff, 5);
  backoff.reset();
  EXPECT_EQ(backoff.failures(), 0u);
  EXPECT_EQ(delays(backoff, 3), (std::vector<long long>{250, 500, 1000}));
}

TEST(Backoff, FullJitterDrawsEachDelayBetweenZeroAndTheStep) {
  Backoff backoff({.min = milliseconds(500), .max = milliseconds(30000), .full_jitter = true}, 42);
  for (int attempt = 0; attempt < 12; ++attempt) {
    const auto step = backoff.step();
    const auto delay = backoff.next();
    EXPECT_GE(delay.count(), 0);
    EXPECT_LE(delay, step) << "attempt " << attempt;
  }
  EXPECT_EQ(backoff.step(), milliseconds(30000));
}

TEST(Backoff, FullJitterSpreadsDelaysOverTheWholeStep) {
  Backoff backoff({.min = milliseconds(1000), .max = milliseconds(1000), .full_jitter = true}, 7);
  const auto drawn = delays(backoff, 1000);
  EXPECT_LT(*std::min_element(drawn.begin(), drawn.end()), 100);
  EXPECT_GT(*std::max_element(drawn.begin(), drawn.end()), 900);
  EXPECT_LE(*std::max_element(drawn.begin(), drawn.end()), 1000);
}

TEST(Backoff, AddedJitterSpreadsAFixedDelayAboveIt) {
  // pow_batches' redial: 3 s plus 0..2 s, so every delay is within 3-5 s.
  Backoff backoff(
      {.min = milliseconds(3000), .max = milliseconds(3000), .full_jitter = false, .added_jitter = milliseconds(2000)},
      7);
  const auto drawn = delays(backoff, 1000);
  EXPECT_GE(*std::min_element(drawn.begin(), drawn.end()), 3000);
  EXPECT_LT(*std::min_element(drawn.begin(), drawn.end()), 3200);
  EXPECT_GT(*std::max_element(drawn.begin(), drawn.end()), 4800);
  EXPECT_LE(*std::max_element(drawn.begin(), drawn.end()), 5000);
}

TEST(Backoff, TheSameSeedGivesTheSameDelays) {
  const BackoffOptions options{
      .min = milliseconds(10), .max = milliseconds(5000), .full_jitter = true, .added_jitter = milliseconds(100)};
  Backoff first(options, 1234);
  Backoff second(options, 1234);
  Backoff other(options, 4321);
  const auto a = delays(first, 50);
  EXPECT_EQ(a, delays(second, 50));
  EXPECT_NE(a, delays(other, 50));
}

TEST(Backoff, AMaxBelowMinIsAFixedDelayAtMin) {
  Backoff backoff({.min = milliseconds(800), .max = milliseconds(100), .full_jitter = false}, 1);
  EXPECT_EQ(delays(backoff, 3), (std::vector<long long>{800, 800, 800}));
}

TEST(Backoff, StepsStopAtMaxWithoutOverflowingAfterManyFailures) {
  Backoff backoff({.min = milliseconds(1), .max = std::chrono::hours(24 * 365), .full_jitter = false}, 1);
  for (int i = 0; i < 200; ++i) backoff.next();
  EXPECT_EQ(backoff.step(), std::chrono::hours(24 * 365));
  EXPECT_EQ(backoff.next(), std::chrono::hours(24 * 365));
}

}  // namespace
}  // namespace eventnode::plugin
