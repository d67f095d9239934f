#include "batch_schema.hpp"

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

using plugin::sqlite::Database;

bool hasTable(Database& db, const std::string& table) {
  return db.queryInteger("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '" + table + "'") == 1;
}

bool hasColumn(Database& db, const std::string& table, const std::string& column) {
  return db.queryInteger("SELECT 1 FROM pragma_table_info('" + table + "') WHERE name = '" + column + "'") == 1;
}

void upgradeFromVersion0(Database& db) {
  if (!hasColumn(db, "outbox", "message_id")) db.exec(kAddMessageId);
  if (!hasTable(db, "outbox_messages")) {
    db.exec(kCreateMessages);
  } else if (hasColumn(db, "outbox_messages", "batch_id")) {
    db.exec(kRenumberMessages);
  }
}

}  // namespace

void prepareBatchSchema(Database& db) {
  // No release wrote version 1: both shapes of version 0 become version 2 in one step.
  static const plugin::sqlite::MigrationStep kSteps[] = {
      {kBatchSchemaVersion,
       [](Database& file) {
         if (hasTable(file, "batches")) {
           upgradeFromVersion0(file);
         } else {
           file.exec(kCreate);
         }
       }},
  };
  plugin::sqlite::migrate(db, kSteps);
}

}  // namespace eventnode::plugins::pow_batches
