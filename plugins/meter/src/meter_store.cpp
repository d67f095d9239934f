#include "meter_store.hpp"

#include <set>

namespace eventnode::plugins::meter {
namespace {

using plugin::sqlite::Statement;
namespace sqlite = plugin::sqlite;

const sqlite::MigrationStep kSchema[] = {
    {1,
     [](sqlite::Database& db) {
       db.exec(
           "CREATE TABLE meters (meter_id TEXT PRIMARY KEY, owner TEXT NOT NULL, wallet TEXT NOT NULL,"
           " public_key TEXT NOT NULL DEFAULT '', registered_ms INTEGER NOT NULL);"
           // state: pending (waiting for a batch), batched (its mint is under way), minted, abandoned.
           "CREATE TABLE readings (id INTEGER PRIMARY KEY, meter_id TEXT NOT NULL, owner TEXT NOT NULL,"
           " wallet TEXT NOT NULL, kwh REAL NOT NULL, base_units INTEGER NOT NULL, reading_ms INTEGER NOT NULL,"
           " received_ms INTEGER NOT NULL, state TEXT NOT NULL DEFAULT 'pending', mint_id INTEGER,"
           " attempts INTEGER NOT NULL DEFAULT 0, UNIQUE (meter_id, reading_ms));"
           "CREATE INDEX readings_by_state ON readings (state, id);"
           "CREATE INDEX readings_by_mint ON readings (mint_id);"
           "CREATE TABLE rejected_readings (id INTEGER PRIMARY KEY, submitted_by TEXT NOT NULL, meter_id TEXT,"
           " kwh REAL, reading_timestamp TEXT, reason TEXT NOT NULL, received_ms INTEGER NOT NULL);"
           // state: open, completed (events not out yet), announced.
           "CREATE TABLE batches (id INTEGER PRIMARY KEY, created_ms INTEGER NOT NULL, state TEXT NOT NULL,"
           " total INTEGER NOT NULL, successful INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,"
           " abandoned INTEGER NOT NULL DEFAULT 0, completed_ms INTEGER);"
           // state: open (no transaction), sent (its transaction is out), confirmed, failed.
           "CREATE TABLE mints (id INTEGER PRIMARY KEY, batch_id INTEGER NOT NULL, owner TEXT NOT NULL,"
           " wallet TEXT NOT NULL, meter_id TEXT, base_units INTEGER NOT NULL, readings INTEGER NOT NULL,"
           " state TEXT NOT NULL DEFAULT 'open', signature TEXT);"
           "CREATE INDEX mints_by_batch ON mints (batch_id, state);"
           "CREATE INDEX mints_by_signature ON mints (signature);"
           // state: sent, landed, failed, expired.
           "CREATE TABLE transactions (signature TEXT PRIMARY KEY, batch_id INTEGER NOT NULL, wire TEXT NOT NULL,"
           " last_valid_block_height INTEGER NOT NULL, sent_ms INTEGER NOT NULL, state TEXT NOT NULL,"
           " settled_ms INTEGER);"
           "CREATE INDEX transactions_by_batch ON transactions (batch_id, state);"
           // Wallets whose token account a landed mint created or used: no CreateIdempotent for them.
           "CREATE TABLE token_accounts (wallet TEXT PRIMARY KEY);");
     }},
};

Meter meterFrom(Statement& row) {
  return {row.text(0), row.text(1), row.text(2), row.text(3), row.integer(4)};
}

MintRow mintFrom(Statement& row) {
  MintRow mint;
  mint.id = row.integer(0);
  mint.batch_id = row.integer(1);
  mint.owner = row.text(2);
  mint.wallet = row.text(3);
  if (!row.isNull(4)) mint.meter_id = row.text(4);
  mint.base_units = row.integer(5);
  mint.readings = row.integer(6);
  mint.signature = row.text(7);
  mint.account_known = row.integer(8) != 0;
  return mint;
}

constexpr const char* kMintColumns =
    "m.id, m.batch_id, m.owner, m.wallet, m.meter_id, m.base_units, m.readings, COALESCE(m.signature, ''),"
    " EXISTS (SELECT 1 FROM token_accounts t WHERE t.wallet = m.wallet)";

}  // namespace

class MeterStore::Statements {
 public:
  explicit Statements(sqlite::Database& db)
      : find_reading(db, "SELECT id FROM readings WHERE meter_id = ? AND reading_ms = ?"),
        insert_reading(db,
                       "INSERT OR IGNORE INTO readings (meter_id, owner, wallet, kwh, base_units, reading_ms,"
                       " received_ms) VALUES (?, ?, ?, ?, ?, ?, ?)"),
        pending(db, "SELECT COUNT(*) FROM readings WHERE state = 'pending'") {}
  Statement find_reading, insert_reading, pending;
};

MeterStore::MeterStore(const std::filesystem::path& file)
    // Exclusive: the plugin is the file's only user, and every commit is spared the lock calls.
    : db_(file, {.name = "meter database", .synchronous = sqlite::Synchronous::Normal, .exclusive = true}) {
  sqlite::migrate(db_, kSchema);
  statements_ = std::make_unique<Statements>(db_);
  Statement all(db_, "SELECT meter_id, owner, wallet, public_key, registered_ms FROM meters");
  while (all.step()) {
    auto meter = meterFrom(all);
    meters_[meter.meter_id] = std::move(meter);
  }
}

MeterStore::~MeterStore() = default;

bool MeterStore::registerMeter(const Meter& meter) {
  std::lock_guard lock(mutex_);
  if (meters_.contains(meter.meter_id)) return false;
  Statement insert(
      db_, "INSERT OR IGNORE INTO meters (meter_id, owner, wallet, public_key, registered_ms) VALUES (?, ?, ?, ?, ?)");
  insert.bind(1, meter.meter_id)
      .bind(2, meter.owner)
      .bind(3, meter.wallet)
      .bind(4, meter.public_key)
      .bind(5, meter.registered_ms)
      .run();
  if (db_.changes() == 0) return false;
  meters_[meter.meter_id] = meter;
  return true;
}

std::optional<Meter> MeterStore::meter(const std::string& meter_id) {
  std::lock_guard lock(mutex_);
  const auto it = meters_.find(meter_id);
  if (it == meters_.end()) return std::nullopt;
  return it->second;
}

std::vector<Meter> MeterStore::meters(const std::string& owner) {
  std::lock_guard lock(mutex_);
  std::vector<Meter> out;
  for (const auto& [id, meter] : meters_) {
    if (owner.empty() || meter.owner == owner) out.push_back(meter);
  }
  return out;
}

std::optional<std::int64_t> MeterStore::findReading(const std::string& meter_id, std::int64_t reading_ms) {
  std::lock_guard lock(mutex_);
  auto& find = statements_->find_reading;
  find.bind(1, meter_id).bind(2, reading_ms);
  std::optional<std::int64_t> id;
  if (find.step()) id = find.integer(0);
  find.reset();
  return id;
}

std::pair<std::int64_t, bool> MeterStore::insertReading(const NewReading& r) {
  std::lock_guard lock(mutex_);
  auto& insert = statements_->insert_reading;
  const auto kwh = std::to_string(r.kwh_amount);  // SQLite reads the text as REAL; only for listing
  insert.bind(1, r.meter_id)
      .bind(2, r.owner)
      .bind(3, r.wallet)
      .bind(4, kwh)
      .bind(5, r.base_units)
      .bind(6, r.reading_ms)
      .bind(7, r.received_ms)
      .run();
  if (db_.changes() == 1) return {db_.lastInsertRowid(), true};
  auto& find = statements_->find_reading;
  find.bind(1, r.meter_id).bind(2, r.reading_ms);
  std::int64_t id = 0;
  if (find.step()) id = find.integer(0);
  find.reset();
  return {id, false};
}

void MeterStore::insertRejection(const std::string& submitted_by, const std::string& meter_id, double kwh_amount,
                                 const std::string& reading_timestamp, const std::string& reason,
                                 std::int64_t received_ms) {
  std::lock_guard lock(mutex_);
  Statement insert(db_,
                   "INSERT INTO rejected_readings (submitted_by, meter_id, kwh, reading_timestamp, reason, received_ms)"
                   " VALUES (?, ?, ?, ?, ?, ?)");
  const auto kwh = std::to_string(kwh_amount);
  insert.bind(1, submitted_by)
      .bind(2, meter_id)
      .bind(3, kwh)
      .bind(4, reading_timestamp)
      .bind(5, reason)
      .bind(6, received_ms)
      .run();
}

std::int64_t MeterStore::pendingReadings() {
  std::lock_guard lock(mutex_);
  auto& count = statements_->pending;
  count.step();
  const auto n = count.integer(0);
  count.reset();
  return n;
}

std::map<std::string, std::int64_t> MeterStore::readingCounts() {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::int64_t> counts{{"pending", 0}, {"batched", 0}, {"minted", 0}, {"abandoned", 0}};
  Statement query(db_, "SELECT state, COUNT(*) FROM readings GROUP BY state");
  while (query.step()) counts[query.text(0)] = query.integer(1);
  counts["rejected"] = db_.queryInteger("SELECT COUNT(*) FROM rejected_readings");
  return counts;
}

std::optional<std::int64_t> MeterStore::openBatch() {
  std::lock_guard lock(mutex_);
  const auto id = db_.queryInteger("SELECT id FROM batches WHERE state = 'open' ORDER BY id LIMIT 1", 0);
  if (id == 0) return std::nullopt;
  return id;
}

std::optional<std::int64_t> MeterStore::createBatch(std::int64_t max_readings, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  sqlite::Transaction transaction(db_);
  struct Group {
    std::int64_t base_units = 0;
    std::int64_t readings = 0;
    std::set<std::string> meters;
    std::vector<std::int64_t> ids;
  };
  std::map<std::pair<std::string, std::string>, Group> groups;  // (owner, wallet)
  std::int64_t total = 0;
  {
    Statement pending(db_,
                      "SELECT id, owner, wallet, meter_id, base_units FROM readings WHERE state = 'pending'"
                      " ORDER BY id LIMIT ?");
    pending.bind(1, max_readings);
    while (pending.step()) {
      auto& group = groups[{pending.text(1), pending.text(2)}];
      group.ids.push_back(pending.integer(0));
      group.meters.insert(pending.text(3));
      group.base_units += pending.integer(4);
      ++group.readings;
      ++total;
    }
  }
  if (total == 0) return std::nullopt;
  Statement batch(db_, "INSERT INTO batches (created_ms, state, total) VALUES (?, 'open', ?)");
  batch.bind(1, now_ms).bind(2, total).run();
  const auto batch_id = db_.lastInsertRowid();
  Statement mint(
      db_, "INSERT INTO mints (batch_id, owner, wallet, meter_id, base_units, readings) VALUES (?, ?, ?, ?, ?, ?)");
  Statement assign(db_, "UPDATE readings SET state = 'batched', mint_id = ? WHERE id = ?");
  for (const auto& [key, group] : groups) {
    mint.bind(1, batch_id).bind(2, key.first).bind(3, key.second);
    if (group.meters.size() == 1) {
      mint.bind(4, *group.meters.begin());
    } else {
      mint.bindNull(4);
    }
    mint.bind(5, group.base_units).bind(6, group.readings).run();
    const auto mint_id = db_.lastInsertRowid();
    for (const auto id : group.ids) assign.bind(1, mint_id).bind(2, id).run();
  }
  transaction.commit();
  return batch_id;
}

std::vector<MintRow> MeterStore::unsentMints(std::int64_t batch_id) {
  std::lock_guard lock(mutex_);
  Statement query(db_, std::string("SELECT ") + kMintColumns +
                           " FROM mints m WHERE m.batch_id = ? AND m.state = 'open' ORDER BY m.id");
  query.bind(1, batch_id);
  std::vector<MintRow> mints;
  while (query.step()) mints.push_back(mintFrom(query));
  return mints;
}

void MeterStore::recordTransaction(std::int64_t batch_id, const SentTransaction& tx,
                                   const std::vector<std::int64_t>& mint_ids) {
  std::lock_guard lock(mutex_);
  sqlite::Transaction transaction(db_);
  Statement insert(db_,
                   "INSERT INTO transactions (signature, batch_id, wire, last_valid_block_height, sent_ms, state)"
                   " VALUES (?, ?, ?, ?, ?, 'sent')");
  insert.bind(1, tx.signature)
      .bind(2, batch_id)
      .bind(3, tx.wire_base64)
      .bind(4, tx.last_valid_block_height)
      .bind(5, tx.sent_ms)
      .run();
  Statement carry(db_, "UPDATE mints SET state = 'sent', signature = ? WHERE id = ? AND state = 'open'");
  for (const auto id : mint_ids) carry.bind(1, tx.signature).bind(2, id).run();
  transaction.commit();
}

std::vector<SentTransaction> MeterStore::unsettledTransactions(std::int64_t batch_id) {
  std::lock_guard lock(mutex_);
  Statement query(db_,
                  "SELECT signature, wire, last_valid_block_height, sent_ms FROM transactions"
                  " WHERE batch_id = ? AND state = 'sent' ORDER BY sent_ms, signature");
  query.bind(1, batch_id);
  std::vector<SentTransaction> out;
  while (query.step()) out.push_back({query.text(0), query.text(1), query.integer(2), query.integer(3)});
  return out;
}

void MeterStore::settleTransaction(const std::string& signature, TransactionOutcome outcome, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  sqlite::Transaction transaction(db_);
  const char* state = outcome == TransactionOutcome::Landed   ? "landed"
                      : outcome == TransactionOutcome::Failed ? "failed"
                                                              : "expired";
  Statement tx(db_, "UPDATE transactions SET state = ?, settled_ms = ? WHERE signature = ? AND state = 'sent'");
  tx.bind(1, state).bind(2, now_ms).bind(3, signature).run();
  if (db_.changes() == 0) return;  // settled before: an outcome counts once
  if (outcome == TransactionOutcome::Landed) {
    Statement known(db_, "INSERT OR IGNORE INTO token_accounts (wallet) SELECT wallet FROM mints WHERE signature = ?");
    known.bind(1, signature).run();
    Statement mints(db_, "UPDATE mints SET state = 'confirmed' WHERE signature = ? AND state = 'sent'");
    mints.bind(1, signature).run();
  } else if (outcome == TransactionOutcome::Failed) {
    Statement mints(db_, "UPDATE mints SET state = 'failed' WHERE signature = ? AND state = 'sent'");
    mints.bind(1, signature).run();
  } else {
    Statement mints(db_, "UPDATE mints SET state = 'open', signature = NULL WHERE signature = ? AND state = 'sent'");
    mints.bind(1, signature).run();
  }
  transaction.commit();
}

std::optional<BatchSummary> MeterStore::completeBatch(std::int64_t batch_id, std::int64_t max_attempts,
                                                      std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  sqlite::Transaction transaction(db_);
  {
    Statement unsettled(db_, "SELECT COUNT(*) FROM mints WHERE batch_id = ? AND state IN ('open', 'sent')");
    unsettled.bind(1, batch_id);
    unsettled.step();
    if (unsettled.integer(0) != 0) return std::nullopt;
  }
  Statement minted(db_,
                   "UPDATE readings SET state = 'minted' WHERE state = 'batched' AND mint_id IN"
                   " (SELECT id FROM mints WHERE batch_id = ? AND state = 'confirmed')");
  minted.bind(1, batch_id).run();
  BatchSummary summary{.batch_id = batch_id, .completed_ms = now_ms};
  summary.successful = db_.changes();
  const char* kFailedReadings =
      "state = 'batched' AND mint_id IN (SELECT id FROM mints WHERE batch_id = ? AND state = 'failed')";
  {
    Statement last_try(db_,
                       std::string("SELECT COUNT(*) FROM readings WHERE attempts + 1 >= ? AND ") + kFailedReadings);
    last_try.bind(1, max_attempts).bind(2, batch_id);
    last_try.step();
    summary.abandoned = last_try.integer(0);
  }
  Statement retry(db_, std::string("UPDATE readings SET attempts = attempts + 1, mint_id = NULL,"
                                   " state = CASE WHEN attempts + 1 >= ? THEN 'abandoned' ELSE 'pending' END WHERE ") +
                           kFailedReadings);
  retry.bind(1, max_attempts).bind(2, batch_id).run();
  summary.failed = db_.changes();
  Statement total(db_, "SELECT total FROM batches WHERE id = ?");
  total.bind(1, batch_id);
  total.step();
  summary.total_readings = total.integer(0);
  total.reset();
  Statement done(db_,
                 "UPDATE batches SET state = 'completed', successful = ?, failed = ?, abandoned = ?, completed_ms = ?"
                 " WHERE id = ?");
  done.bind(1, summary.successful)
      .bind(2, summary.failed)
      .bind(3, summary.abandoned)
      .bind(4, now_ms)
      .bind(5, batch_id)
      .run();
  transaction.commit();
  return summary;
}

std::vector<BatchSummary> MeterStore::unannouncedBatches() {
  std::lock_guard lock(mutex_);
  Statement query(db_,
                  "SELECT id, total, successful, failed, abandoned, completed_ms FROM batches WHERE state = 'completed'"
                  " ORDER BY id");
  std::vector<BatchSummary> out;
  while (query.step()) {
    out.push_back(
        {query.integer(0), query.integer(1), query.integer(2), query.integer(3), query.integer(4), query.integer(5)});
  }
  return out;
}

std::vector<MintRow> MeterStore::confirmedMints(std::int64_t batch_id) {
  std::lock_guard lock(mutex_);
  Statement query(db_, std::string("SELECT ") + kMintColumns +
                           " FROM mints m WHERE m.batch_id = ? AND m.state = 'confirmed' ORDER BY m.id");
  query.bind(1, batch_id);
  std::vector<MintRow> mints;
  while (query.step()) mints.push_back(mintFrom(query));
  return mints;
}

void MeterStore::markAnnounced(std::int64_t batch_id) {
  std::lock_guard lock(mutex_);
  Statement update(db_, "UPDATE batches SET state = 'announced' WHERE id = ? AND state = 'completed'");
  update.bind(1, batch_id).run();
}

}  // namespace eventnode::plugins::meter
