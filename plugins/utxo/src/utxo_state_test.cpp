#include "utxo_state.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace eventnode::plugins::utxo {
namespace {

const std::string kA(64, 'a');
const std::string kB(64, 'b');

struct Case {
  const char* name;
  UtxoState from;
  UtxoState to;
  bool allowed;
};

std::vector<Case> cases() {
  const auto unspent = UtxoState::unspent();
  const auto locked = UtxoState::locked(kA, 1);
  const auto pending = UtxoState::spentPending(kA, 1, 4, 2);
  const auto finalized = UtxoState::spentFinalized(kA, 3, 3);
  const auto confirmed = UtxoState::confirmed(kA, 10, 4);
  return {
      // The allowed ones.
      {"UnspentToLocked", unspent, locked, true},
      {"LockedToSpentPending", locked, pending, true},
      {"SpentPendingToSpentFinalized", pending, finalized, true},
      {"SpentFinalizedToConfirmed", finalized, confirmed, true},
      {"LockedBackToUnspent", locked, unspent, true},
      {"SpentPendingBackToUnspent", pending, unspent, true},
      // Every other pair is refused.
      {"UnspentToUnspent", unspent, unspent, false},
      {"UnspentToSpentPending", unspent, pending, false},
      {"UnspentToSpentFinalized", unspent, finalized, false},
      {"UnspentToConfirmed", unspent, confirmed, false},
      {"LockedToLocked", locked, UtxoState::locked(kB, 2), false},
      {"LockedToSpentFinalized", locked, finalized, false},
      {"LockedToConfirmed", locked, confirmed, false},
      {"SpentPendingToLocked", pending, locked, false},
      {"SpentPendingToSpentPending", pending, pending, false},
      {"SpentPendingToConfirmed", pending, confirmed, false},
      {"SpentFinalizedToUnspent", finalized, unspent, false},
      {"SpentFinalizedToLocked", finalized, locked, false},
      {"SpentFinalizedToSpentPending", finalized, pending, false},
      {"SpentFinalizedToSpentFinalized", finalized, finalized, false},
      {"ConfirmedToUnspent", confirmed, unspent, false},
      {"ConfirmedToLocked", confirmed, locked, false},
      {"ConfirmedToSpentPending", confirmed, pending, false},
      {"ConfirmedToSpentFinalized", confirmed, finalized, false},
      {"ConfirmedToConfirmed", confirmed, confirmed, false},
      // Moving a spend forward keeps its transaction.
      {"LockedToSpentPendingOfAnotherTx", locked, UtxoState::spentPending(kB, 1, 4, 2), false},
      {"SpentPendingToSpentFinalizedOfAnotherTx", pending, UtxoState::spentFinalized(kB, 3, 3), false},
      {"SpentFinalizedToConfirmedOfAnotherTx", finalized, UtxoState::confirmed(kB, 10, 4), false},
  };
}

TEST(UtxoStateMachine, AllowsExactlyTheDocumentedTransitions) {
  for (const auto& c : cases()) {
    const auto error = transitionError(c.from, c.to);
    EXPECT_EQ(!error.has_value(), c.allowed) << c.name << (error ? ": " + *error : std::string());
  }
}

TEST(UtxoStateMachine, RefusalNamesBothStates) {
  const auto error = transitionError(UtxoState::unspent(), UtxoState::confirmed(kA, 1, 1));
  ASSERT_TRUE(error);
  EXPECT_NE(error->find("Unspent -> Confirmed"), std::string::npos) << *error;
}

TEST(UtxoStateJson, IsTaggedByVariantName) {
  EXPECT_EQ(toJson(UtxoState::unspent()), "Unspent");
  EXPECT_EQ(toJson(UtxoState::locked(kA, 1700000000)).dump(),
            R"({"Locked":{"locked_at":1700000000,"txid":")" + kA + R"("}})");
  EXPECT_EQ(toJson(UtxoState::spentPending(kA, 2, 4, 5))["SpentPending"],
            (plugin::Json{{"txid", kA}, {"votes", 2}, {"total_nodes", 4}, {"spent_at", 5}}));
  EXPECT_EQ(toJson(UtxoState::spentFinalized(kA, 6, 3))["SpentFinalized"],
            (plugin::Json{{"txid", kA}, {"finalized_at", 6}, {"votes", 3}}));
  EXPECT_EQ(toJson(UtxoState::confirmed(kA, 10, 7))["Confirmed"],
            (plugin::Json{{"txid", kA}, {"block_height", 10}, {"confirmed_at", 7}}));
}

TEST(UtxoStateJson, RoundTripsEveryState) {
  for (const auto& c : cases()) {
    EXPECT_EQ(parseUtxoState(toJson(c.from)), c.from) << c.name;
    EXPECT_EQ(parseUtxoState(toJson(c.to)), c.to) << c.name;
  }
  EXPECT_THROW(parseUtxoState("Spent"), std::invalid_argument);
  EXPECT_THROW(parseUtxoState(plugin::Json{{"Gone", {{"txid", kA}}}}), std::invalid_argument);
}

TEST(Quorum, IsTwoThirdsPlusOneForOneToTenMasternodes) {
  // floor(2n/3)+1, worked out by hand.
  const std::uint32_t expected[] = {1, 2, 3, 3, 4, 5, 5, 6, 7, 7};
  for (std::uint32_t n = 1; n <= 10; ++n) EXPECT_EQ(quorum(n), expected[n - 1]) << "n=" << n;
}

TEST(Quorum, IsOutOfReachOnceTooManyReject) {
  for (std::uint32_t n = 1; n <= 10; ++n) {
    const auto most_rejections = n - quorum(n);  // more than this and the quorum cannot be met
    EXPECT_TRUE(canReachQuorum(most_rejections, n)) << "n=" << n;
    EXPECT_FALSE(canReachQuorum(most_rejections + 1, n)) << "n=" << n;
  }
}

}  // namespace
}  // namespace eventnode::plugins::utxo
