#pragma once
/// Prepared statements and transactions on a Database (database.hpp).
#include "database.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace eventnode::plugin::sqlite {

/// One statement, compiled once and run many times: bind, step, read columns,
/// reset. Same thread rules as its Database, which must outlive it. Every
/// failure throws Error naming the database's file.
class Statement {
 public:
  /// Compiles `sql`; throws Error with SQLite's reason (a typo, a missing table).
  Statement(Database& db, std::string_view sql) : db_(&db) {
    if (sqlite3_prepare_v3(db.handle(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                           &statement_, nullptr) != SQLITE_OK) {
      throw db.lastError("cannot prepare \"" + std::string(sql) + "\"");
    }
  }
  ~Statement() { sqlite3_finalize(statement_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  /// Binds text to the 1-based parameter `index`. Not copied: the text must
  /// stay alive until the statement is reset.
  Statement& bind(int index, std::string_view text) {
    check(sqlite3_bind_text(statement_, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC));
    return *this;
  }
  Statement& bind(int index, std::int64_t value) {
    check(sqlite3_bind_int64(statement_, index, value));
    return *this;
  }
  Statement& bindNull(int index) {
    check(sqlite3_bind_null(statement_, index));
    return *this;
  }

  /// Steps once: true while there is a row to read.
  bool step() {
    const int rc = sqlite3_step(statement_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) check(rc);
    return false;
  }
  /// Runs a statement that returns no rows (or ignores them), then resets it.
  void run() {
    step();
    reset();
  }
  /// Ready to run again, bindings cleared. Never throws: a step's error was thrown already.
  void reset() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }

  /// A column of the current row, 0-based.
  std::int64_t integer(int column) const { return sqlite3_column_int64(statement_, column); }
  std::string text(int column) const {
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(statement_, column));
    return data ? std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(statement_, column))) : std::string();
  }
  bool isNull(int column) const { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }

  sqlite3_stmt* handle() const { return statement_; }

 private:
  void check(int rc) {
    if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return;
    auto error = db_->lastError(std::string("cannot run \"") + sqlite3_sql(statement_) + "\"");
    // Reset now: a statement left mid-step keeps its read transaction open.
    sqlite3_reset(statement_);
    throw error;
  }

  Database* db_;
  sqlite3_stmt* statement_ = nullptr;
};

/// BEGIN IMMEDIATE on construction, ROLLBACK on destruction unless commit()
/// ran: an exception between the two leaves the file as it was.
class Transaction {
 public:
  explicit Transaction(Database& db) : db_(db) { db_.begin(); }
  ~Transaction() {
    if (open_) {
      try {
        db_.rollback();
      } catch (const Error&) {
        // SQLite already rolled back (a full disk, an I/O error): nothing is left open.
      }
    }
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  /// Throws Error (and stays open, to be rolled back) if the commit fails.
  void commit() {
    db_.commit();
    open_ = false;
  }

 private:
  Database& db_;
  bool open_ = true;
};

}  // namespace eventnode::plugin::sqlite
