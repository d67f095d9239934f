#include "batch_schema.hpp"

#include <stdexcept>
#include <string>

namespace eventnode::plugins::pow_batches {
namespace {

// Version 2. Every index on a random key (a hash, a UUID) costs a page write
// per batch once the index outgrows a commit, as much as the 33 KiB message
// itself; so only the content hash, which exactly-once needs, has one. The
// message is found by the batch's rowid, which grows with each batch, and
// batch_id needs no index: nothing looks a batch up by it. On the 8-node
// benchmark: up to 16 % more batches a second at window 64, 8-20 % at
// window 1, than the layout before (docs/performance.md).
constexpr const char* kCreate =
    "CREATE TABLE batches (content_hash TEXT PRIMARY KEY, batch_id TEXT NOT NULL, kind TEXT NOT NULL,"
    " node TEXT NOT NULL, node_num INTEGER NOT NULL, path TEXT NOT NULL, recorded_at INTEGER NOT NULL);"
    // One row per batch and recorder. `message` is '' since the message moved
    // to outbox_messages (kept for rows written before).
    "CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, recorder TEXT NOT NULL, batch_id TEXT NOT NULL,"
    " kind TEXT NOT NULL, message TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, delivered_at INTEGER,"
    " message_id INTEGER);"
    "CREATE INDEX outbox_pending ON outbox (recorder, delivered_at, seq);"
    // The recorder message, once per batch, under the batch's rowid: outbox
    // rows stay small, so marking one delivered does not rewrite 33 KiB.
    "CREATE TABLE outbox_messages (id INTEGER PRIMARY KEY, message TEXT NOT NULL);";

// From version 0, which is two shapes: the first release kept the message in
// the outbox row and had no outbox_messages; the next kept it in
// outbox_messages under the batch_id (an index on a random key). Both become
// version 2. The batches table keeps its batch_id index: dropping a column's
// UNIQUE constraint would mean copying the whole table.
constexpr const char* kAddMessageId = "ALTER TABLE outbox ADD COLUMN message_id INTEGER;";
constexpr const char* kCreateMessages = "CREATE TABLE outbox_messages (id INTEGER PRIMARY KEY, message TEXT NOT NULL);";
constexpr const char* kRenumberMessages =
    "CREATE TABLE outbox_messages_v2 (id INTEGER PRIMARY KEY, message TEXT NOT NULL);"
    "INSERT INTO outbox_messages_v2 (id, message)"
    " SELECT b.rowid, m.message FROM outbox_messages m JOIN batches b ON b.batch_id = m.batch_id;"
    "UPDATE outbox SET message_id = (SELECT b.rowid FROM batches b WHERE b.batch_id = outbox.batch_id)"
    " WHERE message = '';"
    "DROP TABLE outbox_messages;"
    "ALTER TABLE outbox_messages_v2 RENAME TO outbox_messages;";

void exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : sqlite3_errmsg(db);
    sqlite3_free(error);
    throw std::runtime_error(message);
  }
}

/// The first column of the first row of `sql`, or `otherwise` when there is no row.
long long firstInteger(sqlite3* db, const char* sql, long long otherwise) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &statement, nullptr) != SQLITE_OK) {
    throw std::runtime_error(sqlite3_errmsg(db));
  }
  const auto value = sqlite3_step(statement) == SQLITE_ROW ? sqlite3_column_int64(statement, 0) : otherwise;
  sqlite3_finalize(statement);
  return value;
}

bool hasTable(sqlite3* db, const std::string& table) {
  return firstInteger(db, ("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '" + table + "'").c_str(), 0) ==
         1;
}

bool hasColumn(sqlite3* db, const std::string& table, const std::string& column) {
  return firstInteger(db, ("SELECT 1 FROM pragma_table_info('" + table + "') WHERE name = '" + column + "'").c_str(),
                      0) == 1;
}

void upgradeFromVersion0(sqlite3* db) {
  if (!hasColumn(db, "outbox", "message_id")) exec(db, kAddMessageId);
  if (!hasTable(db, "outbox_messages")) {
    exec(db, kCreateMessages);
  } else if (hasColumn(db, "outbox_messages", "batch_id")) {
    exec(db, kRenumberMessages);
  }
}

}  // namespace

void prepareBatchSchema(sqlite3* db) {
  const auto version = firstInteger(db, "PRAGMA user_version", 0);
  if (version == kBatchSchemaVersion) return;
  if (version > kBatchSchemaVersion) {
    throw std::runtime_error("the file has schema version " + std::to_string(version) + ", newer than this node's " +
                             std::to_string(kBatchSchemaVersion) + "; run the eventnode release that wrote it");
  }
  exec(db, "BEGIN IMMEDIATE");
  try {
    if (hasTable(db, "batches")) {
      upgradeFromVersion0(db);
    } else {
      exec(db, kCreate);
    }
    exec(db, "PRAGMA user_version = " + std::to_string(kBatchSchemaVersion));
    exec(db, "COMMIT");
  } catch (...) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

}  // namespace eventnode::plugins::pow_batches
