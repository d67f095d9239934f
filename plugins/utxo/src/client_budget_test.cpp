// The per-client budget of POST /api/utxo/transactions: a token bucket per
// client that admits while above zero, takes each request's cost (into debt
// if need be) and refills at its rate; memory bounded by max_clients.
#include "client_budget.hpp"

#include <gtest/gtest.h>

namespace eventnode::plugins::utxo {
namespace {

using namespace std::chrono_literals;
const ClientBudget::Clock::time_point kStart{};

TEST(ClientBudget, AdmitsUntilTheBurstIsSpentThenRefusesWithRetryAfter) {
  ClientBudget budget(100, 300);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(budget.admit("10.0.0.1", kStart).admitted) << i;
    budget.charge("10.0.0.1", 100, kStart);
  }
  const auto refused = budget.admit("10.0.0.1", kStart);
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.retry_after, 1s);
}

TEST(ClientBudget, ARequestMayRunIntoDebtThatTheRefillRepaysAtTheRate) {
  ClientBudget budget(100, 300);
  ASSERT_TRUE(budget.admit("a", kStart).admitted);
  budget.charge("a", 550, kStart);  // 300 - 550 = -250: 2.5 s of refill
  const auto refused = budget.admit("a", kStart + 1s);
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.retry_after, 2s);                         // -150 at 100 a second
  EXPECT_FALSE(budget.admit("a", kStart + 2500ms).admitted);  // exactly zero is not above it
  EXPECT_TRUE(budget.admit("a", kStart + 2600ms).admitted);
}

TEST(ClientBudget, TheRefillStopsAtTheBurst) {
  ClientBudget budget(100, 300);
  budget.charge("a", 1, kStart);
  budget.charge("a", 300, kStart + 1h);  // full again after an hour, not 360,000
  EXPECT_FALSE(budget.admit("a", kStart + 1h).admitted);
}

TEST(ClientBudget, EachClientHasItsOwnBucket) {
  ClientBudget budget(1, 10);
  budget.charge("a", 10, kStart);
  EXPECT_FALSE(budget.admit("a", kStart).admitted);
  EXPECT_TRUE(budget.admit("b", kStart).admitted);
}

TEST(ClientBudget, ARateOfZeroIsUnlimitedAndKeepsNothing) {
  ClientBudget budget(0, 1);
  budget.charge("a", 1e9, kStart);
  EXPECT_TRUE(budget.admit("a", kStart).admitted);
  EXPECT_EQ(budget.clients(), 0u);
}

TEST(ClientBudget, PastMaxClientsRefilledBucketsAreForgottenAndNewcomersShareOne) {
  ClientBudget budget(1, 10, 2);
  budget.charge("a", 10, kStart);
  budget.charge("b", 10, kStart);
  // Both still refilling: "c" and "d" share the overflow bucket.
  budget.charge("c", 10, kStart);
  EXPECT_FALSE(budget.admit("d", kStart).admitted);
  EXPECT_EQ(budget.clients(), 3u);  // a, b and the shared one
  // Ten seconds later every bucket is full again: forgotten when a newcomer needs room.
  EXPECT_TRUE(budget.admit("e", kStart + 10s).admitted);
  EXPECT_EQ(budget.clients(), 1u);
}

TEST(ClientKey, IPv4AsItIsIPv6ByItsSlash64) {
  EXPECT_EQ(clientKey("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(clientKey("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:0db8:0001:0002::/64");
  EXPECT_EQ(clientKey("2001:db8:1:2::1"), clientKey("2001:db8:1:2:ffff::9"));
  EXPECT_NE(clientKey("2001:db8:1:2::1"), clientKey("2001:db8:1:3::1"));
  EXPECT_EQ(clientKey("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(clientKey("not an address"), "not an address");
}

}  // namespace
}  // namespace eventnode::plugins::utxo
