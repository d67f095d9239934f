#include "ledger.hpp"

#include "test_signer.hpp"
#include "txid.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>

namespace eventnode::plugins::utxo {
namespace {

using plugin::Json;

const std::string kGenesis(64, '0');
constexpr std::int64_t kNow = 1700000000;

std::shared_ptr<spdlog::logger> quietLogger() {
  return std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
}

Transaction payment(std::vector<OutPoint> inputs, std::vector<TxOutput> outputs, std::int64_t timestamp = kNow) {
  Transaction tx;
  for (auto& outpoint : inputs) tx.inputs.push_back({std::move(outpoint), {7}, {8}, 0xFFFFFFFF});
  tx.outputs = std::move(outputs);
  tx.timestamp = timestamp;
  tx.txid = computeTxid(tx);
  return tx;
}

std::vector<Json> walletMessages(const Effects& effects) {
  std::vector<Json> messages;
  for (const auto& message : effects.wallet) messages.push_back(Json::parse(message.text));
  return messages;
}

std::vector<std::string> types(const Effects& effects) {
  std::vector<std::string> names;
  for (const auto& message : walletMessages(effects)) {
    auto name = message["type"].get<std::string>();
    if (name == "UTXOStateChange") {
      auto state_name = [](const Json& state) {
        return state.is_string() ? state.get<std::string>() : state.begin().key();
      };
      name += ":" + state_name(message["old_state"]) + "->" + state_name(message["new_state"]);
    }
    names.push_back(name);
  }
  return names;
}

class LedgerTest : public ::testing::Test {
 protected:
  explicit LedgerTest(std::vector<std::string> masternodes = {"mn1", "mn2", "mn3", "mn4"})
      // The rules of finality, with stand-in keys: ownership of inputs has tests of its own (LedgerOwnership).
      : ledger_({.self_id = "mn1",
                 .masternodes = std::move(masternodes),
                 .lock_timeout_seconds = 60,
                 .verify_signatures = false},
                quietLogger()) {
    Effects effects;
    EXPECT_EQ(ledger_
                  .seed({{{kGenesis, 0}, "TIME0alice", 1000, {}},
                         {{kGenesis, 1}, "TIME0alice", 500, {}},
                         {{kGenesis, 2}, "TIME0carol", 700, {}}},
                        effects)
                  .verdict,
              Verdict::Accepted);
  }

  Outcome vote(const std::string& txid, const std::string& voter, bool approve, Effects& effects) {
    return ledger_.vote({txid, voter, approve, kNow}, kNow, effects);
  }

  StateKind stateOf(const OutPoint& outpoint) { return ledger_.utxo(outpoint)->state.kind; }

  Ledger ledger_;
};

TEST_F(LedgerTest, PendingAnnouncementsRepeatWhatARestartedNodeMayNotHaveSent) {
  const auto first = payment({{kGenesis, 0}}, {{1000, "TIME0bob"}});
  const auto second = payment({{kGenesis, 2}}, {{700, "TIME0bob"}}, kNow + 1);
  const auto decided = payment({{kGenesis, 1}}, {{500, "TIME0bob"}});
  Effects effects;
  ASSERT_EQ(ledger_.submit(first, false, kNow, effects).verdict, Verdict::Accepted);
  ASSERT_EQ(ledger_.submit(second, true, kNow + 1, effects).verdict, Verdict::Accepted);  // from a peer
  ASSERT_EQ(ledger_.submit(decided, false, kNow, effects).verdict, Verdict::Accepted);
  vote(decided.txid, "mn2", true, effects);
  vote(decided.txid, "mn3", true, effects);
  ASSERT_EQ(ledger_.transaction(decided.txid)->status, TxStatus::Finalized);

  const auto messages = ledger_.pendingAnnouncements(kNow + 2);
  ASSERT_EQ(messages.size(), 4u);  // each pending one and this node's vote on it, oldest first
  EXPECT_EQ(messages[0]["TransactionBroadcast"], toJson(first));
  EXPECT_EQ(messages[1]["InstantFinalityVote"]["txid"], first.txid);
  EXPECT_EQ(messages[1]["InstantFinalityVote"]["voter"], "mn1");
  EXPECT_EQ(messages[1]["InstantFinalityVote"]["approve"], true);
  EXPECT_EQ(messages[2]["TransactionBroadcast"], toJson(second));
  EXPECT_EQ(messages[3]["InstantFinalityVote"]["txid"], second.txid);

  // A lock past lock_timeout is about to be released, not announced.
  EXPECT_EQ(ledger_.pendingAnnouncements(kNow + 60).size(), 2u);
  EXPECT_TRUE(ledger_.pendingAnnouncements(kNow + 61).empty());
}

TEST_F(LedgerTest, APaymentLocksVotesAndFinalizesAtTheQuorum) {
  const auto tx = payment({{kGenesis, 0}}, {{600, "TIME0bob"}, {400, "TIME0alice"}});
  Effects submitted;
  ASSERT_EQ(ledger_.submit(tx, false, kNow, submitted).verdict, Verdict::Accepted);
  EXPECT_EQ(types(submitted), (std::vector<std::string>{"NewTransaction", "UTXOStateChange:Unspent->Locked",
                                                        "UTXOStateChange:Locked->SpentPending"}));
  const auto news = walletMessages(submitted)[0];
  EXPECT_EQ(news["inputs"], Json::array({Json{{"txid", kGenesis}, {"vout", 0}}}));
  EXPECT_EQ(news["outputs"][0], (Json{{"address", "TIME0bob"}, {"amount", 600}, {"vout", 0}}));
  EXPECT_TRUE(news["block_height"].is_null());
  EXPECT_EQ(submitted.wallet[0].addresses, (std::vector<std::string>{"TIME0alice", "TIME0bob"}));
  ASSERT_EQ(submitted.to_peers.size(), 2u);
  EXPECT_TRUE(submitted.to_peers[0].contains("TransactionBroadcast"));
  EXPECT_EQ(submitted.to_peers[1]["InstantFinalityVote"]["voter"], "mn1");
  EXPECT_EQ(submitted.to_peers[1]["InstantFinalityVote"]["approve"], true);
  EXPECT_EQ(stateOf({kGenesis, 0}), StateKind::SpentPending);

  Effects second;
  EXPECT_EQ(vote(tx.txid, "mn2", true, second).verdict, Verdict::Accepted);
  EXPECT_EQ(ledger_.transaction(tx.txid)->status, TxStatus::Pending);
  EXPECT_TRUE(second.wallet.empty());

  Effects third;
  EXPECT_EQ(vote(tx.txid, "mn3", true, third).verdict, Verdict::Accepted);
  EXPECT_EQ(types(third),
            (std::vector<std::string>{"UTXOStateChange:SpentPending->SpentFinalized", "TransactionFinalized"}));
  const auto finalized = walletMessages(third)[1];
  EXPECT_EQ(finalized["votes"], 3);
  EXPECT_EQ(finalized["total_nodes"], 4);
  EXPECT_EQ(ledger_.transaction(tx.txid)->status, TxStatus::Finalized);
  ASSERT_NE(ledger_.utxo({tx.txid, 0}), nullptr);
  EXPECT_EQ(ledger_.utxo({tx.txid, 0})->address, "TIME0bob");
  EXPECT_EQ(stateOf({tx.txid, 0}), StateKind::Unspent);

  // The new output is spendable at once.
  Effects spend;
  EXPECT_EQ(ledger_.submit(payment({{tx.txid, 0}}, {{600, "TIME0dave"}}), false, kNow, spend).verdict,
            Verdict::Accepted);
}

TEST_F(LedgerTest, ALateVoteAfterFinalityChangesNothing) {
  const auto tx = payment({{kGenesis, 0}}, {{1000, "TIME0bob"}});
  Effects effects;
  ledger_.submit(tx, false, kNow, effects);
  vote(tx.txid, "mn2", true, effects);
  vote(tx.txid, "mn3", true, effects);
  Effects late;
  EXPECT_EQ(vote(tx.txid, "mn4", false, late).verdict, Verdict::Accepted);
  EXPECT_TRUE(late.wallet.empty());
  EXPECT_EQ(ledger_.transaction(tx.txid)->status, TxStatus::Finalized);
}

TEST_F(LedgerTest, ASecondSpendOfALockedOutputIsRefused) {
  Effects effects;
  ASSERT_EQ(ledger_.submit(payment({{kGenesis, 0}}, {{1000, "TIME0bob"}}), false, kNow, effects).verdict,
            Verdict::Accepted);
  Effects refused;
  const auto outcome = ledger_.submit(payment({{kGenesis, 0}}, {{1000, "TIME0eve"}}), false, kNow, refused);
  EXPECT_EQ(outcome.verdict, Verdict::Conflict);
  EXPECT_NE(outcome.message.find("SpentPending"), std::string::npos) << outcome.message;
  EXPECT_TRUE(refused.empty());
}

TEST_F(LedgerTest, UnknownInputsAndOverspendingAreInvalid) {
  Effects effects;
  auto outcome = ledger_.submit(payment({{std::string(64, '9'), 0}}, {{1, "TIME0bob"}}), false, kNow, effects);
  EXPECT_EQ(outcome.verdict, Verdict::Invalid);
  EXPECT_NE(outcome.message.find("does not exist"), std::string::npos);
  outcome = ledger_.submit(payment({{kGenesis, 0}, {kGenesis, 1}}, {{1501, "TIME0bob"}}), false, kNow, effects);
  EXPECT_EQ(outcome.verdict, Verdict::Invalid);
  EXPECT_NE(outcome.message.find("outputs total 1501 but inputs only 1500"), std::string::npos) << outcome.message;
  EXPECT_TRUE(effects.empty());
}

TEST_F(LedgerTest, CheckAnswersWhatSubmitWouldWithoutChangingAnything) {
  const auto unknown = payment({{std::string(64, '9'), 0}}, {{1, "TIME0bob"}});
  const auto spend = payment({{kGenesis, 0}}, {{1000, "TIME0bob"}});
  const auto again = payment({{kGenesis, 0}}, {{1000, "TIME0eve"}});
  const auto stale = payment({{kGenesis, 1}}, {{500, "TIME0bob"}}, kNow - 60);

  auto checked = ledger_.check(unknown, kNow);
  EXPECT_EQ(checked.verdict, Verdict::Invalid);
  EXPECT_EQ(checked.message, "input 0 spends " + std::string(64, '9') + ":0, which does not exist");
  EXPECT_EQ(ledger_.check(stale, kNow).verdict, Verdict::Invalid);
  EXPECT_EQ(ledger_.check(spend, kNow).verdict, Verdict::Accepted);
  EXPECT_EQ(stateOf({kGenesis, 0}), StateKind::Unspent);  // checking locked nothing
  EXPECT_EQ(ledger_.transaction(spend.txid), nullptr);

  Effects effects;
  ASSERT_EQ(ledger_.submit(spend, false, kNow, effects).verdict, Verdict::Accepted);
  EXPECT_EQ(ledger_.check(spend, kNow).verdict, Verdict::Duplicate);
  checked = ledger_.check(again, kNow);
  EXPECT_EQ(checked.verdict, Verdict::Conflict);
  Effects refused;
  EXPECT_EQ(ledger_.submit(again, false, kNow, refused).message, checked.message);
}

TEST(AddressBalance, SumsUnspentOutputsAndSaturatesPastTwoToTheSixtyFour) {
  const std::uint64_t max = 18446744073709551615ull;
  Utxo big{{kGenesis, 0}, "TIME0alice", max, {}};
  Utxo more{{kGenesis, 1}, "TIME0alice", max, {}};
  Utxo small{{kGenesis, 2}, "TIME0alice", 5, {}};
  Utxo locked{{kGenesis, 3}, "TIME0alice", 7, UtxoState::locked(std::string(64, 'e'), kNow)};

  auto balance = unspentBalance({&small, &locked});
  EXPECT_EQ(balance.amount, 5u);  // a locked output is not in the balance
  EXPECT_FALSE(balance.saturated);
  balance = unspentBalance({&big});
  EXPECT_EQ(balance.amount, max);
  EXPECT_FALSE(balance.saturated);
  balance = unspentBalance({&big, &small});
  EXPECT_EQ(balance.amount, max);  // not 4, as it wrapped to before
  EXPECT_TRUE(balance.saturated);
  EXPECT_EQ(balance.exact, "18446744073709551620");
  balance = unspentBalance({&big, &more, &small});
  EXPECT_EQ(balance.exact, "36893488147419103235");
}

TEST_F(LedgerTest, AnInvalidTransactionFromAPeerGetsARejectVote) {
  Effects effects;
  const auto tx = payment({{std::string(64, '9'), 0}}, {{1, "TIME0bob"}});
  EXPECT_EQ(ledger_.submit(tx, true, kNow, effects).verdict, Verdict::Invalid);
  ASSERT_EQ(effects.to_peers.size(), 1u);
  EXPECT_EQ(effects.to_peers[0]["InstantFinalityVote"]["approve"], false);
}

TEST_F(LedgerTest, AConflictingPeerTransactionIsRecordedAndVotedDown) {
  const auto mine = payment({{kGenesis, 0}}, {{1000, "TIME0bob"}});
  const auto theirs = payment({{kGenesis, 0}}, {{1000, "TIME0eve"}});
  Effects effects;
  ledger_.submit(mine, false, kNow, effects);
  Effects peer;
  EXPECT_EQ(ledger_.submit(theirs, true, kNow, peer).verdict, Verdict::Accepted);
  ASSERT_EQ(peer.to_peers.size(), 1u);
  EXPECT_EQ(peer.to_peers[0]["InstantFinalityVote"]["approve"], false);
  EXPECT_EQ(types(peer), (std::vector<std::string>{"NewTransaction"}));
  // One more rejection and it cannot reach 3 of 4.
  Effects rejected;
  vote(theirs.txid, "mn3", false, rejected);
  EXPECT_EQ(ledger_.transaction(theirs.txid)->status, TxStatus::Rejected);
  EXPECT_EQ(ledger_.utxo({kGenesis, 0})->state.txid, mine.txid);
  EXPECT_EQ(stateOf({kGenesis, 0}), StateKind::SpentPending);
}

TEST_F(LedgerTest, WhenTheOtherSpendWinsTheQuorumTheLocalLockIsReleasedForIt) {
  const auto mine = payment({{kGenesis, 0}}, {{1000, "TIME0bob"}});
  const auto theirs = payment({{kGenesis, 0}}, {{1000, "TIME0eve"}});
  Effects effects;
  ledger_.submit(mine, false, kNow, effects);
  ledger_.submit(theirs, true, kNow, effects);
  Effects won;
  vote(theirs.txid, "mn2", true, won);
  vote(theirs.txid, "mn3", true, won);
  vote(theirs.txid, "mn4", true, won);
  EXPECT_EQ(ledger_.transaction(theirs.txid)->status, TxStatus::Finalized);
  EXPECT_EQ(ledger_.transaction(mine.txid)->status, TxStatus::Rejected);
  EXPECT_EQ(types(won), (std::vector<std::string>{"UTXOStateChange:SpentPending->Unspent",
                                                  "UTXOStateChange:Unspent->Locked",
                                                  "UTXOStateChange:Locked->SpentPending",
                                                  "UTXOStateChange:SpentPending->SpentFinalized",
                                                  "TransactionFinalized"}));
  EXPECT_EQ(ledger_.utxo({kGenesis, 0})->state, UtxoState::spentFinalized(theirs.txid, kNow, 3));
}

TEST_F(LedgerTest, VotesThatArriveBeforeTheTransactionCount) {
  const auto tx = payment({{kGenesis, 0}}, {{1000, "TIME0bob"}});
  Effects effects;
  EXPECT_EQ(vote(tx.txid, "mn2", true, effects).verdict, Verdict::Accepted);
  EXPECT_EQ(vote(tx.txid, "mn3", true, effects).verdict, Verdict::Accepted);
  EXPECT_EQ(ledger_.submit(tx, true, kNow, effects).verdict, Verdict::Accepted);
  EXPECT_EQ(ledger_.transaction(tx.txid)->status, TxStatus::Finalized);
  EXPECT_EQ(ledger_.transaction(tx.txid)->approvals(), 3u);
}

TEST_F(LedgerTest, ATransactionIsVotedOnOnlyWithinTheLockTimeoutOfItsTimestamp) {
  Effects effects;
  auto outcome = ledger_.submit(payment({{kGenesis, 0}}, {{1000, "TIME0bob"}}, kNow - 60), false, kNow, effects);
  EXPECT_EQ(outcome.verdict, Verdict::Invalid);
  EXPECT_NE(outcome.message.find("less than lock_timeout_seconds"), std::string::npos) << outcome.message;
  outcome = ledger_.submit(payment({{kGenesis, 0}}, {{1000, "TIME0bob"}}, kNow + 61), false, kNow, effects);
  EXPECT_EQ(outcome.verdict, Verdict::Invalid);
  // A late broadcast from a peer gets a reject vote and locks nothing.
  Effects late;
  EXPECT_EQ(ledger_.submit(payment({{kGenesis, 0}}, {{1000, "TIME0bob"}}, kNow - 60), true, kNow, late).verdict,
            Verdict::Invalid);
  ASSERT_EQ(late.to_peers.size(), 1u);
  EXPECT_EQ(late.to_peers[0]["InstantFinalityVote"]["approve"], false);
  EXPECT_EQ(stateOf({kGenesis, 0}), StateKind::Unspent);
}

TEST_F(LedgerTest, ANodeThatTimedOutFollowsAQuorumReachedInTime) {
  // Approvals cast before the timeout but delivered after it still count:
  // the network finalized the transaction, and this node must agree.
  const auto tx = payment({{kGenesis, 0}}, {{1000, "TIME0bob"}});
  Effects effects;
  ledger_.submit(tx, false, kNow, effects);
  ledger_.expireLocks(kNow + 60, effects);
  ASSERT_EQ(ledger_.transaction(tx.txid)->status, TxStatus::Rejected);
  ledger_.vote({tx.txid, "mn2", true, kNow + 1}, kNow + 61, effects);
  ledger_.vote({tx.txid, "mn3", true, kNow + 1}, kNow + 61, effects);
  EXPECT_EQ(ledger_.transaction(tx.txid)->status, TxStatus::Finalized);
  EXPECT_EQ(ledger_.utxo({kGenesis, 0})->state.kind, StateKind::SpentFinalized);
}

TEST_F(LedgerTest, EachMasternodeVotesOnce) {
  const auto tx = payment({{kGenesis, 0}}, {{1000, "TIME0bob"}});
  Effects effects;
  ledger_.submit(tx, false, kNow, effects);
  EXPECT_EQ(vote(tx.txid, "mn2", true, effects).verdict, Verdict::Accepted);
  EXPECT_EQ(vote(tx.txid, "mn2", true, effects).verdict, Verdict::Duplicate);
  EXPECT_EQ(vote(tx.txid, "mn2", false, effects).verdict, Verdict::Conflict);
  EXPECT_EQ(vote(tx.txid, "mn1", true, effects).verdict, Verdict::Duplicate);
  EXPECT_EQ(vote(tx.txid, "mn9", true, effects).verdict, Verdict::Invalid);
  EXPECT_EQ(ledger_.transaction(tx.txid)->approvals(), 2u);
  EXPECT_EQ(ledger_.transaction(tx.txid)->status, TxStatus::Pending);
}

TEST_F(LedgerTest, ATransactionThatCanNoLongerReachTheQuorumIsRejectedEarly) {
  const auto tx = payment({{kGenesis, 0}}, {{1000, "TIME0bob"}});
  Effects effects;
  ledger_.submit(tx, false, kNow, effects);
  Effects first;
  vote(tx.txid, "mn2", false, first);
  EXPECT_EQ(ledger_.transaction(tx.txid)->status, TxStatus::Pending);  // 3 of 4 can still approve
  Effects second;
  vote(tx.txid, "mn3", false, second);
  EXPECT_EQ(ledger_.transaction(tx.txid)->status, TxStatus::Rejected);
  EXPECT_EQ(types(second), (std::vector<std::string>{"UTXOStateChange:SpentPending->Unspent"}));
  EXPECT_EQ(stateOf({kGenesis, 0}), StateKind::Unspent);
}

TEST_F(LedgerTest, LocksOlderThanTheTimeoutAreReleased) {
  const auto tx = payment({{kGenesis, 0}}, {{1000, "TIME0bob"}});
  Effects effects;
  ledger_.submit(tx, false, kNow, effects);
  Effects early;
  ledger_.expireLocks(kNow + 59, early);
  EXPECT_TRUE(early.empty());
  Effects expired;
  ledger_.expireLocks(kNow + 60, expired);
  EXPECT_EQ(ledger_.transaction(tx.txid)->status, TxStatus::Rejected);
  EXPECT_NE(ledger_.transaction(tx.txid)->reason.find("lock timeout"), std::string::npos);
  EXPECT_EQ(stateOf({kGenesis, 0}), StateKind::Unspent);
}

TEST_F(LedgerTest, ABlockConfirmsFinalizedTransactionsOnly) {
  const auto tx = payment({{kGenesis, 0}}, {{1000, "TIME0bob"}});
  const auto pending = payment({{kGenesis, 2}}, {{700, "TIME0bob"}});
  Effects effects;
  ledger_.submit(tx, false, kNow, effects);
  ledger_.submit(pending, false, kNow, effects);
  vote(tx.txid, "mn2", true, effects);
  vote(tx.txid, "mn3", true, effects);
  Effects block;
  const auto outcome = ledger_.confirmBlock(10, {tx.txid, pending.txid, std::string(64, 'e')}, kNow + 5, block);
  EXPECT_EQ(outcome.confirmed, (std::vector<std::string>{tx.txid}));
  ASSERT_EQ(outcome.skipped.size(), 2u);
  EXPECT_NE(outcome.skipped[0].second.find("pending"), std::string::npos);
  EXPECT_EQ(outcome.skipped[1].second, "unknown transaction");
  EXPECT_EQ(types(block),
            (std::vector<std::string>{"UTXOStateChange:SpentFinalized->Confirmed", "TransactionConfirmed"}));
  EXPECT_EQ(ledger_.utxo({kGenesis, 0})->state, UtxoState::confirmed(tx.txid, 10, kNow + 5));
  EXPECT_EQ(ledger_.transaction(tx.txid)->status, TxStatus::Confirmed);
  Effects again;
  EXPECT_EQ(ledger_.confirmBlock(11, {tx.txid}, kNow, again).skipped.size(), 1u);
}

TEST_F(LedgerTest, SeedingAnExistingOutpointChangesNothing) {
  Effects effects;
  const auto outcome = ledger_.seed({{{kGenesis, 9}, "TIME0zed", 1, {}}, {{kGenesis, 0}, "TIME0zed", 1, {}}}, effects);
  EXPECT_EQ(outcome.verdict, Verdict::Conflict);
  EXPECT_EQ(ledger_.utxo({kGenesis, 9}), nullptr);
}

TEST(LedgerAlone, ASingleMasternodeFinalizesOnItsOwnVote) {
  Ledger ledger({.self_id = "solo", .masternodes = {"solo"}, .verify_signatures = false}, quietLogger());
  Effects effects;
  ledger.seed({{{kGenesis, 0}, "TIME0alice", 10, {}}}, effects);
  const auto tx = payment({{kGenesis, 0}}, {{10, "TIME0bob"}});
  ledger.submit(tx, false, kNow, effects);
  EXPECT_EQ(ledger.transaction(tx.txid)->status, TxStatus::Finalized);
}

// Ownership with real keys (signature.hpp): the input's public_key must own the spent output's address.
class LedgerOwnership : public ::testing::Test {
 protected:
  LedgerOwnership() {
    Effects effects;
    ledger_.seed({{{kGenesis, 0}, alice_.address(), 1000, {}}}, effects);
  }
  Transaction signedPayment(const test_support::TestSigner& signer) const {
    auto tx = payment({{kGenesis, 0}}, {{1000, "TIME0bob"}});
    signer.signAll(tx);
    return tx;
  }
  test_support::TestSigner alice_{"alice"};
  test_support::TestSigner mallory_{"mallory"};
  Ledger ledger_{{.self_id = "mn1", .masternodes = {"mn1", "mn2", "mn3", "mn4"}}, quietLogger()};
};

TEST_F(LedgerOwnership, TheOwnersKeySpendsTheOutput) {
  Effects effects;
  EXPECT_EQ(ledger_.submit(signedPayment(alice_), false, kNow, effects).verdict, Verdict::Accepted);
  EXPECT_EQ(ledger_.utxo({kGenesis, 0})->state.kind, StateKind::SpentPending);
}

TEST_F(LedgerOwnership, AnotherKeyIsRefusedAndLocksNothing) {
  Effects effects;
  const auto outcome = ledger_.submit(signedPayment(mallory_), false, kNow, effects);
  EXPECT_EQ(outcome.verdict, Verdict::Invalid);
  EXPECT_EQ(outcome.message, "input 0 spends an output paid to " + alice_.address() + ", but its public_key owns " +
                                 mallory_.address());
  EXPECT_EQ(ledger_.utxo({kGenesis, 0})->state, UtxoState::unspent());
  EXPECT_TRUE(effects.to_peers.empty());
}

TEST_F(LedgerOwnership, APeersBroadcastWithAnotherKeyGetsARejectVote) {
  Effects effects;
  const auto tx = signedPayment(mallory_);
  EXPECT_EQ(ledger_.submit(tx, true, kNow, effects).verdict, Verdict::Invalid);
  ASSERT_EQ(effects.to_peers.size(), 1u);
  EXPECT_EQ(effects.to_peers[0]["InstantFinalityVote"]["txid"], tx.txid);
  EXPECT_EQ(effects.to_peers[0]["InstantFinalityVote"]["approve"], false);
  EXPECT_EQ(ledger_.transaction(tx.txid), nullptr);
}

TEST(LedgerAlone, RefusesASelfIdOutsideTheMasternodes) {
  EXPECT_THROW(Ledger({.self_id = "x", .masternodes = {"a", "b"}}, quietLogger()), std::invalid_argument);
}

}  // namespace
}  // namespace eventnode::plugins::utxo
