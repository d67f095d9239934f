#include "cursor_store.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace eventnode::plugins::solana_listener {
namespace {

using plugin::sqlite::Database;
using plugin::sqlite::Statement;

// Version 1: the tables as they were before the file had a version, created
// only where missing, so that a file an earlier release wrote is left as it is.
void createTables(Database& db) {
  db.exec(
      "CREATE TABLE IF NOT EXISTS cursors ("
      "program TEXT PRIMARY KEY, signature TEXT NOT NULL, slot INTEGER NOT NULL, "
      "updated_at INTEGER NOT NULL DEFAULT (strftime('%s','now')));"
      // Keyed by signature alone (no rowid table beside it), and indexed for
      // forgetBefore, which runs after every walk while live events keep adding rows.
      "CREATE TABLE IF NOT EXISTS published ("
      "signature TEXT PRIMARY KEY, program TEXT NOT NULL, slot INTEGER NOT NULL) WITHOUT ROWID;"
      "CREATE INDEX IF NOT EXISTS published_by_program_slot ON published (program, slot);");
}

/// SQLite integers are signed 64-bit; slots are far below that.
std::int64_t clampedSlot(std::uint64_t slot) {
  return static_cast<std::int64_t>(
      std::min<std::uint64_t>(slot, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())));
}

}  // namespace

class CursorStore::Statements {
 public:
  explicit Statements(Database& db)
      : load(db, "SELECT signature, slot FROM cursors WHERE program = ? LIMIT 1"),
        load_all(db, "SELECT program, signature, slot FROM cursors"),
        advance(db,
                "INSERT INTO cursors (program, signature, slot, updated_at) VALUES (?, ?, ?, strftime('%s','now')) "
                "ON CONFLICT(program) DO UPDATE SET signature = excluded.signature, slot = excluded.slot, "
                "updated_at = excluded.updated_at WHERE excluded.slot >= cursors.slot"),
        remember(db, "INSERT OR IGNORE INTO published (signature, program, slot) VALUES (?, ?, ?)"),
        forget(db, "DELETE FROM published WHERE program = ? AND slot < ?"),
        remembered(db, "SELECT signature FROM published ORDER BY slot") {}

  Statement load, load_all, advance, remember, forget, remembered;
};

CursorStore::CursorStore(const std::filesystem::path& file) {
  db_ = std::make_unique<Database>(file, plugin::sqlite::OpenOptions{.name = "solana_listener cursor store",
                                                                     .synchronous = plugin::sqlite::Synchronous::Normal,
                                                                     .busy_timeout = std::chrono::seconds(2),
                                                                     .auto_checkpoint = false});
  static const plugin::sqlite::MigrationStep kSteps[] = {{1, createTables}};
  plugin::sqlite::migrate(*db_, kSteps);
  statements_ = std::make_unique<Statements>(*db_);
  checkpointer_ = std::make_unique<plugin::sqlite::WalCheckpointer>(
      file, plugin::sqlite::CheckpointPolicy{.interval = std::chrono::seconds(1)});
}

CursorStore::~CursorStore() = default;

std::optional<Cursor> CursorStore::load(const std::string& program) {
  std::lock_guard lock(mutex_);
  auto& select = statements_->load;
  select.bind(1, program);
  std::optional<Cursor> cursor;
  if (select.step()) cursor = Cursor{select.text(0), static_cast<std::uint64_t>(select.integer(1))};
  select.reset();
  return cursor;
}

std::map<std::string, Cursor> CursorStore::loadAll() {
  std::lock_guard lock(mutex_);
  auto& select = statements_->load_all;
  std::map<std::string, Cursor> out;
  while (select.step())
    out.emplace(select.text(0), Cursor{select.text(1), static_cast<std::uint64_t>(select.integer(2))});
  select.reset();
  return out;
}

bool CursorStore::advance(const std::string& program, const Cursor& cursor) {
  // Refuse rather than wrap a slot that does not fit.
  if (cursor.slot > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    throw std::runtime_error("solana_listener cursor store: slot " + std::to_string(cursor.slot) + " of program " +
                             program + " does not fit a signed 64-bit integer");
  }
  std::lock_guard lock(mutex_);
  statements_->advance.bind(1, program).bind(2, cursor.signature).bind(3, static_cast<std::int64_t>(cursor.slot)).run();
  return db_->changes() > 0;
}

void CursorStore::remember(const std::vector<PublishedSignature>& published) {
  if (published.empty()) return;
  std::lock_guard lock(mutex_);
  plugin::sqlite::Transaction transaction(*db_);
  for (const auto& entry : published) {
    statements_->remember.bind(1, entry.signature).bind(2, entry.program).bind(3, clampedSlot(entry.slot)).run();
  }
  transaction.commit();
}

void CursorStore::forgetBefore(const std::string& program, std::uint64_t slot) {
  std::lock_guard lock(mutex_);
  statements_->forget.bind(1, program).bind(2, clampedSlot(slot)).run();
}

std::vector<std::string> CursorStore::rememberedSignatures() {
  std::lock_guard lock(mutex_);
  auto& select = statements_->remembered;
  std::vector<std::string> signatures;
  while (select.step()) signatures.push_back(select.text(0));
  select.reset();
  return signatures;
}

}  // namespace eventnode::plugins::solana_listener
