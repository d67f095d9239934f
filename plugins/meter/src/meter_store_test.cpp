#include "meter_store.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace eventnode::plugins::meter {
namespace {

class MeterStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("meter-store-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    store_ = std::make_unique<MeterStore>(dir_ / "meter.sqlite");
    store_->registerMeter({"m-1", "alice", "walletA", "", 1});
    store_->registerMeter({"m-2", "alice", "walletA", "", 1});
    store_->registerMeter({"m-3", "bob", "walletB", "", 1});
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::int64_t add(const std::string& meter, const std::string& owner, const std::string& wallet, std::int64_t at,
                   std::int64_t units) {
    return store_->insertReading({meter, owner, wallet, 1.0, units, at, at}).first;
  }

  std::filesystem::path dir_;
  std::unique_ptr<MeterStore> store_;
};

TEST_F(MeterStoreTest, AMeterIdIsRegisteredOnceAndSurvivesAReopen) {
  EXPECT_FALSE(store_->registerMeter({"m-1", "mallory", "walletM", "", 2}));
  store_.reset();
  store_ = std::make_unique<MeterStore>(dir_ / "meter.sqlite");
  ASSERT_TRUE(store_->meter("m-1"));
  EXPECT_EQ(store_->meter("m-1")->owner, "alice");
  EXPECT_EQ(store_->meters("alice").size(), 2u);
  EXPECT_EQ(store_->meters("").size(), 3u);
}

TEST_F(MeterStoreTest, TheSameMeterAndTimeIsOneReading) {
  const auto first = store_->insertReading({"m-1", "alice", "walletA", 1.0, 1'000'000'000, 100, 100});
  const auto again = store_->insertReading({"m-1", "alice", "walletA", 2.0, 2'000'000'000, 100, 101});
  EXPECT_TRUE(first.second);
  EXPECT_FALSE(again.second);
  EXPECT_EQ(first.first, again.first);
  EXPECT_EQ(store_->findReading("m-1", 100), first.first);
  EXPECT_EQ(store_->pendingReadings(), 1);
}

TEST_F(MeterStoreTest, ABatchOwesOneMintPerWalletWithNoMeterWhenItCoversSeveral) {
  add("m-1", "alice", "walletA", 1, 10);
  add("m-2", "alice", "walletA", 2, 20);
  add("m-3", "bob", "walletB", 3, 5);
  add("m-3", "bob", "walletB", 4, 6);
  const auto batch = store_->createBatch(100, 50);
  ASSERT_TRUE(batch);
  EXPECT_EQ(store_->openBatch(), batch);
  EXPECT_FALSE(store_->createBatch(100, 51)) << "nothing is pending any more";
  auto mints = store_->unsentMints(*batch);
  ASSERT_EQ(mints.size(), 2u);
  std::sort(mints.begin(), mints.end(), [](auto& a, auto& b) { return a.owner < b.owner; });
  EXPECT_EQ(mints[0].base_units, 30);
  EXPECT_FALSE(mints[0].meter_id.has_value());
  EXPECT_EQ(mints[1].base_units, 11);
  EXPECT_EQ(mints[1].meter_id, "m-3");
}

TEST_F(MeterStoreTest, LandedFailedAndExpiredTransactionsSettleTheirMints) {
  add("m-1", "alice", "walletA", 1, 10);
  add("m-3", "bob", "walletB", 2, 5);
  const auto batch = *store_->createBatch(100, 50);
  auto mints = store_->unsentMints(batch);
  ASSERT_EQ(mints.size(), 2u);
  store_->recordTransaction(batch, {"sigA", "wire", 200, 60}, {mints[0].id});
  store_->recordTransaction(batch, {"sigB", "wire", 200, 60}, {mints[1].id});
  EXPECT_TRUE(store_->unsentMints(batch).empty());
  EXPECT_EQ(store_->unsettledTransactions(batch).size(), 2u);

  // Expired: its mint is built anew, in the same batch.
  store_->settleTransaction("sigB", TransactionOutcome::Expired, 70);
  ASSERT_EQ(store_->unsentMints(batch).size(), 1u);
  EXPECT_FALSE(store_->completeBatch(batch, 3, 80)) << "a mint is still owed";
  store_->recordTransaction(batch, {"sigC", "wire", 300, 90}, {mints[1].id});
  store_->settleTransaction("sigA", TransactionOutcome::Landed, 100);
  store_->settleTransaction("sigA", TransactionOutcome::Failed, 101);  // an outcome counts once
  store_->settleTransaction("sigC", TransactionOutcome::Failed, 102);
  const auto summary = store_->completeBatch(batch, 3, 110);
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->total_readings, 2);
  EXPECT_EQ(summary->successful, 1);
  EXPECT_EQ(summary->failed, 1);
  EXPECT_EQ(summary->abandoned, 0);
  EXPECT_EQ(store_->pendingReadings(), 1) << "the failed reading waits for a later batch";
  EXPECT_EQ(store_->readingCounts()["minted"], 1);
  ASSERT_EQ(store_->unannouncedBatches().size(), 1u);
  const auto confirmed = store_->confirmedMints(batch);
  ASSERT_EQ(confirmed.size(), 1u);
  EXPECT_EQ(confirmed[0].signature, "sigA");
  EXPECT_TRUE(confirmed[0].account_known);
  store_->markAnnounced(batch);
  EXPECT_TRUE(store_->unannouncedBatches().empty());
}

TEST_F(MeterStoreTest, AReadingWhoseMintFailsMaxAttemptsTimesIsAbandoned) {
  add("m-1", "alice", "walletA", 1, 10);
  for (int attempt = 1; attempt <= 2; ++attempt) {
    const auto batch = *store_->createBatch(100, attempt);
    const auto mints = store_->unsentMints(batch);
    const auto sig = "sig" + std::to_string(attempt);
    store_->recordTransaction(batch, {sig, "wire", 200, 60}, {mints[0].id});
    store_->settleTransaction(sig, TransactionOutcome::Failed, 70);
    const auto summary = store_->completeBatch(batch, 2, 80);
    ASSERT_TRUE(summary);
    EXPECT_EQ(summary->abandoned, attempt == 2 ? 1 : 0);
  }
  EXPECT_EQ(store_->pendingReadings(), 0);
  EXPECT_EQ(store_->readingCounts()["abandoned"], 1);
}

}  // namespace
}  // namespace eventnode::plugins::meter
