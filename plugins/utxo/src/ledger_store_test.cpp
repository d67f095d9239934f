#include "ledger_store.hpp"

#include "temp_dir.hpp"

#include "txid.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>

#include <filesystem>

namespace eventnode::plugins::utxo {
namespace {

const std::string kGenesis(64, '0');

std::shared_ptr<spdlog::logger> quietLogger() {
  return std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
}

// Stand-in keys: what is stored does not depend on who signed.
LedgerConfig fourMasternodes() {
  return {.self_id = "mn1", .masternodes = {"mn1", "mn2", "mn3", "mn4"}, .verify_signatures = false};
}

class LedgerStoreTest : public ::testing::Test {
 protected:
  std::filesystem::path file() const { return dir_.path() / "utxo.sqlite"; }
  test_support::TempDir dir_{"utxo"};
};

TEST_F(LedgerStoreTest, EveryStateVoteAndTransactionSurvivesAReopen) {
  Transaction finalized, pending;
  {
    Ledger ledger(fourMasternodes(), quietLogger());
    LedgerStore store(file(), false);
    Effects effects;
    ledger.seed({{{kGenesis, 0}, "TIME0alice", 1000, {}}, {{kGenesis, 1}, "TIME0alice", 18446744073709551615ull, {}}},
                effects);
    finalized.inputs.push_back({{kGenesis, 0}, {1}, {2}, 0xFFFFFFFF});
    finalized.outputs.push_back({1000, "TIME0bob"});
    finalized.timestamp = 100;
    finalized.txid = computeTxid(finalized);
    pending.inputs.push_back({{kGenesis, 1}, {1}, {2}, 0xFFFFFFFF});
    pending.outputs.push_back({5, "TIME0carol"});
    pending.timestamp = 103;
    pending.txid = computeTxid(pending);
    ledger.submit(finalized, false, 100, effects);
    ledger.vote({finalized.txid, "mn2", true, 101}, 101, effects);
    ledger.vote({finalized.txid, "mn3", true, 102}, 102, effects);
    ledger.submit(pending, false, 103, effects);
    ledger.vote({pending.txid, "mn4", false, 104}, 104, effects);
    store.save(ledger, effects);
  }
  Ledger reopened(fourMasternodes(), quietLogger());
  LedgerStore store(file(), false);
  store.load(reopened);
  EXPECT_EQ(reopened.utxo({kGenesis, 0})->state, UtxoState::spentFinalized(finalized.txid, 102, 3));
  EXPECT_EQ(reopened.utxo({kGenesis, 1})->amount, 18446744073709551615ull);
  EXPECT_EQ(reopened.utxo({kGenesis, 1})->state.kind, StateKind::SpentPending);
  EXPECT_EQ(reopened.utxo({finalized.txid, 0})->state, UtxoState::unspent());
  const auto* record = reopened.transaction(finalized.txid);
  ASSERT_NE(record, nullptr);
  EXPECT_EQ(record->status, TxStatus::Finalized);
  EXPECT_EQ(record->approvals(), 3u);
  EXPECT_EQ(record->addresses, (std::vector<std::string>{"TIME0alice", "TIME0bob"}));
  EXPECT_EQ(reopened.transaction(pending.txid)->rejections(), 1u);

  // The pending transaction keeps its lock time: the timeout still applies after a restart.
  Effects expired;
  reopened.expireLocks(103 + 60, expired);
  EXPECT_EQ(reopened.transaction(pending.txid)->status, TxStatus::Rejected);
  EXPECT_EQ(reopened.utxo({kGenesis, 1})->state, UtxoState::unspent());
}

TEST_F(LedgerStoreTest, AFileWrittenBeforeTheLayoutHadAVersionOpensWithEveryRow) {
  {
    // The tables exactly as releases without a schema version created them.
    plugin::sqlite::Database old(file(), {.name = "old UTXO database"});
    old.exec(
        "CREATE TABLE utxos (txid TEXT NOT NULL, vout INTEGER NOT NULL, address TEXT NOT NULL,"
        " amount INTEGER NOT NULL, state TEXT NOT NULL, PRIMARY KEY (txid, vout)) WITHOUT ROWID;"
        "CREATE TABLE transactions (txid TEXT PRIMARY KEY, body TEXT NOT NULL, status TEXT NOT NULL,"
        " addresses TEXT NOT NULL, received_at INTEGER NOT NULL, decided_at INTEGER NOT NULL,"
        " confirmed_at INTEGER NOT NULL, block_height INTEGER NOT NULL, reason TEXT NOT NULL);"
        "CREATE TABLE votes (txid TEXT NOT NULL, voter TEXT NOT NULL, approve INTEGER NOT NULL,"
        " timestamp INTEGER NOT NULL);"
        "INSERT INTO utxos VALUES ('" +
        kGenesis + "', 3, 'TIME0carol', 77, '" + toJson(UtxoState::unspent()).dump() + "');");
  }
  Ledger ledger(fourMasternodes(), quietLogger());
  LedgerStore store(file(), false);
  store.load(ledger);
  const auto* utxo = ledger.utxo({kGenesis, 3});
  ASSERT_NE(utxo, nullptr);
  EXPECT_EQ(utxo->address, "TIME0carol");
  EXPECT_EQ(utxo->amount, 77u);
  EXPECT_EQ(utxo->state, UtxoState::unspent());
}

TEST_F(LedgerStoreTest, AnUnwritablePathFailsNamingTheFile) {
  try {
    LedgerStore store(dir_.path() / "missing" / "utxo.sqlite", false);
    FAIL() << "opened";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace eventnode::plugins::utxo
