#include "ledger_store.hpp"

#include <eventnode/plugin/sqlite/migration.hpp>
#include <eventnode/plugin/sqlite/statement.hpp>

#include <algorithm>
#include <limits>
#include <map>

namespace eventnode::plugins::utxo {

using plugin::Json;
using plugin::sqlite::Database;
using plugin::sqlite::Statement;

namespace {

// Version 1: the tables as they were before the file had a version, created
// only where missing, so that a file an earlier release wrote is left as it is.
void createTables(Database& db) {
  db.exec(
      "CREATE TABLE IF NOT EXISTS utxos (txid TEXT NOT NULL, vout INTEGER NOT NULL, address TEXT NOT NULL,"
      " amount INTEGER NOT NULL, state TEXT NOT NULL, PRIMARY KEY (txid, vout)) WITHOUT ROWID;"
      // A rowid table, not clustered on the txid like the others: its rows carry
      // the transaction's whole JSON, and a clustered (WITHOUT ROWID) row that
      // large spills into overflow pages; here rows are appended in arrival
      // order and the txid index holds only small keys.
      "CREATE TABLE IF NOT EXISTS transactions (txid TEXT PRIMARY KEY, body TEXT NOT NULL, status TEXT NOT NULL,"
      " addresses TEXT NOT NULL, received_at INTEGER NOT NULL, decided_at INTEGER NOT NULL,"
      " confirmed_at INTEGER NOT NULL, block_height INTEGER NOT NULL, reason TEXT NOT NULL);"
      // Votes are only ever added, once each (the ledger counts a voter once):
      // appended in arrival order, a commit writes just the table's last page.
      "CREATE TABLE IF NOT EXISTS votes (txid TEXT NOT NULL, voter TEXT NOT NULL, approve INTEGER NOT NULL,"
      " timestamp INTEGER NOT NULL);");
}

}  // namespace

/// The statements of save(), compiled once and stepped per row, where a
/// statement per row would be parsed again every time.
class LedgerStore::Statements {
 public:
  explicit Statements(Database& db)
      : insert_utxo(db, "INSERT OR REPLACE INTO utxos (txid, vout, address, amount, state) VALUES (?, ?, ?, ?, ?)"),
        insert_transaction(db,
                           "INSERT OR REPLACE INTO transactions (txid, body, status, addresses, received_at,"
                           " decided_at, confirmed_at, block_height, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
        update_transaction(db,
                           "UPDATE transactions SET status = ?, decided_at = ?, confirmed_at = ?, block_height = ?,"
                           " reason = ? WHERE txid = ?"),
        insert_vote(db, "INSERT INTO votes (txid, voter, approve, timestamp) VALUES (?, ?, ?, ?)") {}

  Statement insert_utxo, insert_transaction, update_transaction, insert_vote;
};

LedgerStore::LedgerStore(const std::filesystem::path& file, bool full_sync) {
  db_ = std::make_unique<Database>(
      file, plugin::sqlite::OpenOptions{
                .name = "UTXO database",
                .synchronous = full_sync ? plugin::sqlite::Synchronous::Full : plugin::sqlite::Synchronous::Normal,
                // SQLite's default page size. 1 KiB pages wrote fewer bytes per commit,
                // but a UTXO row (its state is JSON with a txid in it) is close to what a
                // 1 KiB page keeps inline, so rows spilled into overflow pages; with 4 KiB
                // the 4-node benchmark finalized 995-1,177/s instead of 881-888/s at
                // window 128 (docs/performance.md). Only takes effect on a new file.
                .page_size = 4096,
                // This process is the file's only user: exclusive locking spares the
                // lock calls and shared-memory index a WAL transaction otherwise costs.
                .exclusive = true});
  static const plugin::sqlite::MigrationStep kSteps[] = {{1, createTables}};
  plugin::sqlite::migrate(*db_, kSteps);
  statements_ = std::make_unique<Statements>(*db_);
}

LedgerStore::~LedgerStore() = default;

void LedgerStore::load(Ledger& ledger) {
  auto& db = *db_;
  {
    // Amounts are u64 but SQLite integers are i64: stored as their bit pattern.
    Statement utxos(db, "SELECT txid, vout, address, amount, state FROM utxos");
    while (utxos.step()) {
      ledger.restoreUtxo({{utxos.text(0), static_cast<std::uint32_t>(utxos.integer(1))},
                          utxos.text(2),
                          static_cast<std::uint64_t>(utxos.integer(3)),
                          parseUtxoState(Json::parse(utxos.text(4)))});
    }
  }
  std::multimap<std::string, Vote> votes;
  {
    Statement rows(db, "SELECT txid, voter, approve, timestamp FROM votes");
    while (rows.step()) {
      auto txid = rows.text(0);
      votes.emplace(txid, Vote{txid, rows.text(1), rows.integer(2) != 0, rows.integer(3)});
    }
  }
  Statement transactions(db,
                         "SELECT body, status, addresses, received_at, decided_at, confirmed_at, block_height, reason"
                         " FROM transactions");
  const auto& prefix = ledger.config().address_prefix;
  // What was stored passed the caps of its day; today's may be lower.
  const TransactionLimits stored{.max_inputs = std::numeric_limits<std::size_t>::max(),
                                 .max_outputs = std::numeric_limits<std::size_t>::max()};
  while (transactions.step()) {
    TxRecord record;
    record.tx = parseTransaction(Json::parse(transactions.text(0)), prefix, stored);
    record.status = parseStatus(transactions.text(1));
    record.addresses = Json::parse(transactions.text(2)).get<std::vector<std::string>>();
    const auto [first, last] = votes.equal_range(record.tx.txid);
    for (auto it = first; it != last; ++it) record.votes.emplace(it->second.voter, it->second);
    record.received_at = transactions.integer(3);
    record.decided_at = transactions.integer(4);
    record.confirmed_at = transactions.integer(5);
    record.block_height = static_cast<std::uint64_t>(transactions.integer(6));
    record.reason = transactions.text(7);
    ledger.restoreTransaction(std::move(record));
  }
}

void LedgerStore::save(const Ledger& ledger, const Effects& effects) {
  const auto updated = [&](const std::string& txid) {
    // A new transaction is written whole, its status with it.
    return !effects.new_transactions.contains(txid) && ledger.transaction(txid);
  };
  const bool nothing =
      std::none_of(effects.changed_utxos.begin(), effects.changed_utxos.end(),
                   [&](const OutPoint& outpoint) { return ledger.utxo(outpoint); }) &&
      std::none_of(effects.new_transactions.begin(), effects.new_transactions.end(),
                   [&](const std::string& txid) { return ledger.transaction(txid); }) &&
      std::none_of(effects.changed_transactions.begin(), effects.changed_transactions.end(), updated) &&
      effects.new_votes.empty();
  if (nothing) return;

  auto& st = *statements_;
  plugin::sqlite::Transaction transaction(*db_);
  for (const auto& outpoint : effects.changed_utxos) {
    const auto* utxo = ledger.utxo(outpoint);
    if (!utxo) continue;
    const auto state = toJson(utxo->state).dump();
    st.insert_utxo.bind(1, outpoint.txid)
        .bind(2, std::int64_t{outpoint.vout})
        .bind(3, utxo->address)
        .bind(4, static_cast<std::int64_t>(utxo->amount))
        .bind(5, state)
        .run();
  }
  for (const auto& txid : effects.new_transactions) {
    const auto* record = ledger.transaction(txid);
    if (!record) continue;
    const auto body = toJson(record->tx).dump();
    const auto addresses = Json(record->addresses).dump();
    st.insert_transaction.bind(1, record->tx.txid)
        .bind(2, body)
        .bind(3, statusName(record->status))
        .bind(4, addresses)
        .bind(5, record->received_at)
        .bind(6, record->decided_at)
        .bind(7, record->confirmed_at)
        .bind(8, static_cast<std::int64_t>(record->block_height))
        .bind(9, record->reason)
        .run();
  }
  for (const auto& txid : effects.changed_transactions) {
    if (!updated(txid)) continue;
    const auto* record = ledger.transaction(txid);
    st.update_transaction.bind(1, statusName(record->status))
        .bind(2, record->decided_at)
        .bind(3, record->confirmed_at)
        .bind(4, static_cast<std::int64_t>(record->block_height))
        .bind(5, record->reason)
        .bind(6, record->tx.txid)
        .run();
  }
  for (const auto& vote : effects.new_votes) {
    st.insert_vote.bind(1, vote.txid)
        .bind(2, vote.voter)
        .bind(3, std::int64_t{vote.approve ? 1 : 0})
        .bind(4, vote.timestamp)
        .run();
  }
  transaction.commit();
}

}  // namespace eventnode::plugins::utxo
