// Plugin metrics as GET /metrics renders them (metric_registry.hpp).
#include "metrics/metric_registry.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace eventnode::core {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Unit, CountersGaugesAndReadersRenderWithHelpTypeAndLabels) {
  MetricRegistry registry;
  auto ws = registry.counter("pow", "eventnode_pow_batches_total", "Batches.", {{"transport", "websocket"}});
  auto http = registry.counter("pow", "eventnode_pow_batches_total", "Batches.", {{"transport", "http"}});
  ws->inc(3);
  http->inc();
  registry.gauge("pow", "eventnode_pow_queue", "Queued.", {})->set(2.5);
  registry.observe("pow", "eventnode_pow_peers", "Peers.", plugin::MetricType::Gauge, {{"peer", "a\"b\\c\nd"}},
                   [] { return 4.0; });
  const auto text = registry.render();
  EXPECT_TRUE(contains(text, "# HELP eventnode_pow_batches_total Batches.\n# TYPE eventnode_pow_batches_total counter\n"
                             "eventnode_pow_batches_total{transport=\"websocket\"} 3\n"
                             "eventnode_pow_batches_total{transport=\"http\"} 1\n"))
      << text;
  EXPECT_TRUE(contains(text, "# TYPE eventnode_pow_queue gauge\neventnode_pow_queue 2.5\n")) << text;
  EXPECT_TRUE(contains(text, "eventnode_pow_peers{peer=\"a\\\"b\\\\c\\nd\"} 4\n")) << text;
}

TEST(Unit, TheSameNameAndLabelsGiveTheSameSeries) {
  MetricRegistry registry;
  auto first = registry.counter("p", "eventnode_p_x_total", "X.", {{"k", "v"}});
  auto again = registry.counter("p", "eventnode_p_x_total", "X.", {{"k", "v"}});
  EXPECT_EQ(first, again);
  first->inc();
  EXPECT_EQ(again->value(), 1u);
}

TEST(Unit, AHistogramRendersCumulativeBucketsSumAndCount) {
  MetricRegistry registry;
  auto latency = registry.histogram("p", "eventnode_p_latency_seconds", "Latency.", {0.1, 1}, {});
  for (const double value : {0.05, 0.5, 0.5, 7.0}) latency->observe(value);
  const auto text = registry.render();
  EXPECT_TRUE(contains(text, "# TYPE eventnode_p_latency_seconds histogram\n"
                             "eventnode_p_latency_seconds_bucket{le=\"0.10000000000000001\"} 1\n"
                             "eventnode_p_latency_seconds_bucket{le=\"1\"} 3\n"
                             "eventnode_p_latency_seconds_bucket{le=\"+Inf\"} 4\n"
                             "eventnode_p_latency_seconds_sum 8.0500000000000007\n"
                             "eventnode_p_latency_seconds_count 4\n"))
      << text;
}

TEST(Unit, BadNamesLabelsTypeClashesAndBoundsAreRefused) {
  MetricRegistry registry;
  registry.counter("p", "eventnode_p_x_total", "X.", {});
  EXPECT_THROW(registry.gauge("p", "eventnode_p_x_total", "X.", {}), std::invalid_argument);
  EXPECT_THROW(registry.counter("q", "eventnode_p_x_total", "X.", {}), std::invalid_argument);
  EXPECT_THROW(registry.counter("p", "eventnode-p", "X.", {}), std::invalid_argument);
  EXPECT_THROW(registry.counter("p", "eventnode_p_y", "Y.", {{"le", "1"}}), std::invalid_argument);
  EXPECT_THROW(registry.counter("p", "eventnode_p_y", "Y.", {{"1bad", "1"}}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("p", "eventnode_p_h", "H.", {1, 1}, {}), std::invalid_argument);
  registry.histogram("p", "eventnode_p_h2", "H.", {1, 2}, {});
  EXPECT_THROW(registry.histogram("p", "eventnode_p_h2", "H.", {1, 3}, {{"k", "v"}}), std::invalid_argument);
}

TEST(Unit, AReaderThatThrowsRendersNaNAndTheScrapeGoesOn) {
  MetricRegistry registry;
  registry.observe("p", "eventnode_p_bad", "Bad.", plugin::MetricType::Gauge, {},
                   []() -> double { throw std::runtime_error("gone"); });
  registry.gauge("p", "eventnode_p_good", "Good.", {})->set(1);
  const auto text = registry.render();
  EXPECT_TRUE(contains(text, "eventnode_p_bad NaN\n")) << text;
  EXPECT_TRUE(contains(text, "eventnode_p_good 1\n")) << text;
}

TEST(Unit, AStoppedOwnersMetricsAreGoneAndItsReadersNeverRunAgain) {
  MetricRegistry registry;
  int reads = 0;
  registry.observe("p", "eventnode_p_r", "R.", plugin::MetricType::Gauge, {}, [&reads] { return ++reads; });
  registry.counter("q", "eventnode_q_c_total", "C.", {});
  registry.render();
  registry.removeOwner("p");
  const auto text = registry.render();
  EXPECT_EQ(reads, 1);
  EXPECT_FALSE(contains(text, "eventnode_p_r")) << text;
  EXPECT_TRUE(contains(text, "eventnode_q_c_total 0\n")) << text;
}

}  // namespace
}  // namespace eventnode::core
