#pragma once
/// One SQLite connection to one file, opened the way the node's stores need
/// it: write-ahead log, a busy timeout, the caller's synchronous mode. Part of
/// the eventnode::plugin_sqlite target (it links SQLite); a plugin that keeps
/// no database does not need it. Header-only, so an out-of-tree plugin gets it
/// from the installed package.
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace eventnode::plugin::sqlite {

/// A storage failure. The message names the database, its file, what was
/// being done and SQLite's reason, e.g. "batch database /d/b.sqlite: cannot
/// open: file is not a database".
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Synchronous {
  Normal,  ///< a commit survives a killed process, not a power cut (in WAL mode)
  Full,    ///< a commit survives a power cut: each commit waits for fsync
};

struct OpenOptions {
  /// Names the database in error messages, e.g. "batch database".
  std::string name = "database";
  Synchronous synchronous = Synchronous::Full;
  /// How long a statement waits for another connection's lock before failing.
  std::chrono::milliseconds busy_timeout{5000};
  /// Page size of a new file (an existing file keeps its own); 0: SQLite's default.
  int page_size = 0;
  /// false: commits never checkpoint the log (wal_autocheckpoint=0); run a
  /// WalCheckpointer (checkpoint.hpp) on the file instead, or the log only grows.
  bool auto_checkpoint = true;
  /// The process is the file's only user: exclusive locking spares the lock
  /// calls and shared-memory index a WAL transaction otherwise costs. Other
  /// connections (a WalCheckpointer too) cannot open the file then.
  bool exclusive = false;
  /// false: a missing file is an error instead of a new database.
  bool create = true;
};

/// Owns one connection. Not thread-safe: its owner serialises calls (and the
/// Statements prepared on it). Every failure throws Error.
class Database {
 public:
  /// Opens (creating, unless options.create is false) `file` in WAL mode.
  /// Throws Error naming the file: a missing folder, not a database, a lock.
  Database(std::filesystem::path file, OpenOptions options) : file_(std::move(file)), options_(std::move(options)) {
    const int flags = SQLITE_OPEN_READWRITE | (options_.create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(file_.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      // SQLite only says "unable to open database file"; a missing folder is
      // the usual cause and the operator's fix.
      std::string reason = db_ ? sqlite3_errmsg(db_) : "out of memory";
      const auto folder = file_.has_parent_path() ? file_.parent_path() : std::filesystem::path(".");
      std::error_code ec;
      if (!std::filesystem::is_directory(folder, ec)) {
        reason +=
            "; the folder " + folder.string() + " does not exist: create it or point the data directory elsewhere";
      }
      sqlite3_close(db_);
      db_ = nullptr;
      throw Error(describe("cannot open", reason));
    }
    try {
      sqlite3_busy_timeout(db_, static_cast<int>(options_.busy_timeout.count()));
      // Before the log exists: a WAL file keeps the page size it was made with.
      if (options_.page_size > 0) exec("PRAGMA page_size=" + std::to_string(options_.page_size), "cannot open");
      if (options_.exclusive) exec("PRAGMA locking_mode=EXCLUSIVE", "cannot open");
      // The first statement reads the file: a file that is not a database fails here.
      if (queryText("PRAGMA journal_mode=WAL", "cannot open") != "wal") {
        throw Error(describe("cannot open", "the file cannot use a write-ahead log"));
      }
      exec(options_.synchronous == Synchronous::Full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
           "cannot open");
      if (!options_.auto_checkpoint) exec("PRAGMA wal_autocheckpoint=0", "cannot open");
    } catch (...) {
      sqlite3_close(db_);
      db_ = nullptr;
      throw;
    }
  }
  ~Database() {
    sqlite3_finalize(begin_);
    sqlite3_finalize(commit_);
    sqlite3_finalize(rollback_);
    sqlite3_close(db_);  // fails (and leaks) only if the owner kept a Statement alive: destroy those first
  }
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  /// Runs one or more statements that return no rows. `doing` goes into the error.
  void exec(const std::string& sql, std::string_view doing = "cannot run a statement") {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      std::string reason = error ? error : sqlite3_errmsg(db_);
      sqlite3_free(error);
      throw Error(describe(doing, reason));
    }
  }

  /// The first column of the first row of `sql` as an integer, or `otherwise` without a row.
  std::int64_t queryInteger(const std::string& sql, std::int64_t otherwise = 0) {
    std::int64_t value = otherwise;
    query(sql, "cannot read", [&](sqlite3_stmt* row) { value = sqlite3_column_int64(row, 0); });
    return value;
  }

  /// The first column of the first row of `sql` as text, or "" without a row.
  std::string queryText(const std::string& sql, std::string_view doing = "cannot read") {
    std::string value;
    query(sql, doing, [&](sqlite3_stmt* row) {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(row, 0));
      if (text) value.assign(text, static_cast<std::size_t>(sqlite3_column_bytes(row, 0)));
    });
    return value;
  }

  /// BEGIN IMMEDIATE / COMMIT / ROLLBACK, prepared once per connection: a
  /// store that commits per batch does not parse them every time. Prefer
  /// Transaction (statement.hpp), which rolls back on an exception.
  void begin() { runCached(begin_, "BEGIN IMMEDIATE"); }
  void commit() { runCached(commit_, "COMMIT"); }
  void rollback() { runCached(rollback_, "ROLLBACK"); }

  /// The rowid of the last row this connection inserted.
  std::int64_t lastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }
  /// Rows changed by the last INSERT, UPDATE or DELETE on this connection.
  int changes() const { return sqlite3_changes(db_); }

  const std::filesystem::path& file() const { return file_; }
  const OpenOptions& options() const { return options_; }
  /// The connection, for what this header does not wrap; still owned here.
  sqlite3* handle() const { return db_; }

  /// "<name> <file>: <doing>: <reason>", the text of every Error about this database.
  std::string describe(std::string_view doing, std::string_view reason) const {
    return options_.name + " " + file_.string() + ": " + std::string(doing) + ": " + std::string(reason);
  }
  /// An Error carrying SQLite's last message on this connection.
  Error lastError(std::string_view doing) const { return Error(describe(doing, sqlite3_errmsg(db_))); }

 private:
  template <typename OnRow>
  void query(const std::string& sql, std::string_view doing, OnRow on_row) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &statement, nullptr) != SQLITE_OK) {
      throw lastError(doing);
    }
    const int rc = sqlite3_step(statement);
    if (rc == SQLITE_ROW) on_row(statement);
    // Taken before finalize, which may replace SQLite's message.
    const bool failed = rc != SQLITE_ROW && rc != SQLITE_DONE;
    std::string reason = failed ? sqlite3_errmsg(db_) : "";
    sqlite3_finalize(statement);
    if (failed) throw Error(describe(doing, reason));
  }

  void runCached(sqlite3_stmt*& statement, const char* sql) {
    if (!statement && sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, nullptr) != SQLITE_OK) {
      throw lastError(sql);
    }
    if (sqlite3_step(statement) != SQLITE_DONE) {
      auto error = lastError(sql);
      sqlite3_reset(statement);
      throw error;
    }
    sqlite3_reset(statement);
  }

  std::filesystem::path file_;
  OpenOptions options_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* rollback_ = nullptr;
};

}  // namespace eventnode::plugin::sqlite
