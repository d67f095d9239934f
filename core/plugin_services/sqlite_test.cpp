#include <eventnode/plugin/sqlite.hpp>

#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

namespace eventnode::plugin::sqlite {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class TempDir : public test_support::TempDir {
 public:
  TempDir() : test_support::TempDir("sqlite") {}
  fs::path db() const { return path() / "store.sqlite"; }
  fs::path wal() const { return path() / "store.sqlite-wal"; }
};

OpenOptions options(Synchronous synchronous = Synchronous::Full) {
  return OpenOptions{.name = "test database", .synchronous = synchronous};
}

/// What another process (sqlite3 on the command line) reads from the file.
std::string textOnFile(const fs::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_stmt* statement = nullptr;
  std::string value = "(none)";
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK &&
      sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK &&
      sqlite3_step(statement) == SQLITE_ROW)
    value = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return value;
}

std::string errorOf(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// ---- opening ----------------------------------------------------------------

TEST(SqliteDatabase, ANewFileUsesTheWriteAheadLog) {
  TempDir dir;
  Database db(dir.db(), options());
  db.exec("CREATE TABLE t (x INTEGER)");
  EXPECT_EQ(textOnFile(dir.db(), "PRAGMA journal_mode"), "wal");
  EXPECT_TRUE(fs::exists(dir.wal()));
}

TEST(SqliteDatabase, SynchronousModeIsTheCallers) {
  TempDir dir;
  {
    Database db(dir.db(), options(Synchronous::Full));
    EXPECT_EQ(db.queryInteger("PRAGMA synchronous"), 2);
  }
  Database db(dir.db(), options(Synchronous::Normal));
  EXPECT_EQ(db.queryInteger("PRAGMA synchronous"), 1);
}

TEST(SqliteDatabase, BusyTimeoutPageSizeAndAutoCheckpointAreSetAsAsked) {
  TempDir dir;
  Database db(
      dir.db(),
      OpenOptions{.name = "test database", .busy_timeout = 1234ms, .page_size = 16384, .auto_checkpoint = false});
  EXPECT_EQ(db.queryInteger("PRAGMA busy_timeout"), 1234);
  EXPECT_EQ(db.queryInteger("PRAGMA page_size"), 16384);
  EXPECT_EQ(db.queryInteger("PRAGMA wal_autocheckpoint"), 0);
}

TEST(SqliteDatabase, AFileThatIsNotADatabaseIsRefusedNamingIt) {
  TempDir dir;
  std::ofstream(dir.db(), std::ios::binary) << std::string(4096, 'x');
  const auto message = errorOf([&] { Database db(dir.db(), options()); });
  EXPECT_NE(message.find("test database " + dir.db().string() + ": cannot open: "), std::string::npos) << message;
  EXPECT_NE(message.find("not a database"), std::string::npos) << message;
}

TEST(SqliteDatabase, AMissingFolderIsNamedWithTheFix) {
  TempDir dir;
  const auto file = dir.path() / "missing" / "store.sqlite";
  const auto message = errorOf([&] { Database db(file, options()); });
  EXPECT_NE(message.find(file.string()), std::string::npos) << message;
  EXPECT_NE(message.find("the folder " + (dir.path() / "missing").string() + " does not exist"), std::string::npos)
      << message;
}

TEST(SqliteDatabase, WithoutCreateAMissingFileIsAnError) {
  TempDir dir;
  auto opts = options();
  opts.create = false;
  EXPECT_THROW(Database(dir.db(), opts), Error);
  EXPECT_FALSE(fs::exists(dir.db()));
}

// ---- statements and transactions --------------------------------------------

/// A new database in a test's own folder.
class SqliteStatement : public ::testing::Test {
 protected:
  TempDir dir_;
  Database db_{dir_.db(), options()};
};
using SqliteTransaction = SqliteStatement;

TEST_F(SqliteStatement, BoundValuesReadBackTheSame) {
  db_.exec("CREATE TABLE t (name TEXT, amount INTEGER, note TEXT)");
  const std::string with_nul("a\0b", 3);
  const std::string big(100000, 'z');
  struct Row {
    std::string name;
    std::int64_t amount;
  };
  const std::vector<Row> rows = {{with_nul, std::numeric_limits<std::int64_t>::min()},
                                 {big, std::numeric_limits<std::int64_t>::max()},
                                 {"", 0},
                                 {"naïve ✓", -1}};
  Statement insert(db_, "INSERT INTO t (name, amount, note) VALUES (?, ?, ?)");
  for (const auto& row : rows) insert.bind(1, row.name).bind(2, row.amount).bindNull(3).run();

  Statement select(db_, "SELECT name, amount, note FROM t ORDER BY rowid");
  for (const auto& row : rows) {
    ASSERT_TRUE(select.step());
    EXPECT_EQ(select.text(0), row.name);
    EXPECT_EQ(select.integer(1), row.amount);
    EXPECT_TRUE(select.isNull(2));
  }
  EXPECT_FALSE(select.step());
}

TEST_F(SqliteStatement, AResetStatementRunsAgainWithNewBindings) {
  db_.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'one'), (2, 'two');");
  Statement find(db_, "SELECT v FROM t WHERE k = ?");
  for (const auto& [key, value] : std::vector<std::pair<std::int64_t, std::string>>{{2, "two"}, {1, "one"}}) {
    find.bind(1, key);
    ASSERT_TRUE(find.step());
    EXPECT_EQ(find.text(0), value);
    find.reset();
  }
  find.bind(1, std::int64_t{3});
  EXPECT_FALSE(find.step());
}

TEST_F(SqliteStatement, AFailedStepNamesTheFileTheStatementAndTheReason) {
  db_.exec("CREATE TABLE t (k INTEGER PRIMARY KEY)");
  Statement insert(db_, "INSERT INTO t (k) VALUES (?)");
  insert.bind(1, std::int64_t{1}).run();
  const auto message = errorOf([&] { insert.bind(1, std::int64_t{1}).run(); });
  EXPECT_NE(message.find(dir_.db().string()), std::string::npos) << message;
  EXPECT_NE(message.find("INSERT INTO t (k) VALUES (?)"), std::string::npos) << message;
  EXPECT_NE(message.find("UNIQUE constraint failed"), std::string::npos) << message;
  // The statement is usable again after the failure.
  insert.bind(1, std::int64_t{2}).run();
  EXPECT_EQ(db_.queryInteger("SELECT COUNT(*) FROM t"), 2);
}

TEST_F(SqliteStatement, BadSqlIsRefusedNamingTheFile) {
  const auto message = errorOf([&] { Statement s(db_, "SELECT * FROM nowhere"); });
  EXPECT_NE(message.find(dir_.db().string()), std::string::npos) << message;
  EXPECT_NE(message.find("no such table: nowhere"), std::string::npos) << message;
}

TEST_F(SqliteTransaction, LeftWithoutCommitItRollsBack) {
  db_.exec("CREATE TABLE t (k INTEGER)");
  try {
    Transaction transaction(db_);
    db_.exec("INSERT INTO t VALUES (1)");
    throw std::runtime_error("interrupted");
  } catch (const std::runtime_error&) {
  }
  {
    Transaction transaction(db_);
    db_.exec("INSERT INTO t VALUES (2)");
    transaction.commit();
  }
  EXPECT_EQ(textOnFile(dir_.db(), "SELECT group_concat(k) FROM t"), "2");
}

// ---- migrations --------------------------------------------------------------

TEST(SqliteMigration, EachStepRunsOnceInOrderAndTheFileRecordsTheVersion) {
  TempDir dir;
  std::vector<int> ran;
  const std::vector<MigrationStep> steps = {
      {1,
       [&](Database& db) {
         ran.push_back(1);
         db.exec("CREATE TABLE a (x)");
       }},
      {2,
       [&](Database& db) {
         ran.push_back(2);
         db.exec("ALTER TABLE a ADD COLUMN y");
       }},
  };
  {
    Database db(dir.db(), options());
    migrate(db, steps);
  }
  Database db(dir.db(), options());
  migrate(db, steps);
  EXPECT_EQ(ran, (std::vector<int>{1, 2}));
  EXPECT_EQ(db.queryInteger("PRAGMA user_version"), 2);
  EXPECT_EQ(db.queryInteger("SELECT COUNT(*) FROM pragma_table_info('a')"), 2);
}

TEST(SqliteMigration, AnOlderFileRunsOnlyTheStepsAboveItsVersion) {
  TempDir dir;
  std::vector<int> ran;
  const auto step = [&](int version) {
    return MigrationStep{version, [&ran, version](Database&) { ran.push_back(version); }};
  };
  {
    Database db(dir.db(), options());
    migrate(db, std::vector{step(1)});
  }
  Database db(dir.db(), options());
  migrate(db, std::vector{step(1), step(3), step(4)});
  EXPECT_EQ(ran, (std::vector<int>{1, 3, 4}));
  EXPECT_EQ(db.queryInteger("PRAGMA user_version"), 4);
}

TEST(SqliteMigration, AFileFromANewerReleaseIsRefusedNamingItAndBothVersions) {
  TempDir dir;
  {
    Database db(dir.db(), options());
    db.exec("PRAGMA user_version = 3");
  }
  bool ran = false;
  Database db(dir.db(), options());
  const auto message = errorOf([&] { migrate(db, std::vector{MigrationStep{2, [&](Database&) { ran = true; }}}); });
  EXPECT_NE(message.find(dir.db().string()), std::string::npos) << message;
  EXPECT_NE(message.find("schema version 3, newer than this node's 2"), std::string::npos) << message;
  EXPECT_FALSE(ran);
  EXPECT_EQ(db.queryInteger("PRAGMA user_version"), 3);
}

TEST(SqliteMigration, AFailedStepLeavesTheFileAtTheVersionBeforeIt) {
  TempDir dir;
  const std::vector<MigrationStep> steps = {
      {1, [](Database& db) { db.exec("CREATE TABLE a (x)"); }},
      {2,
       [](Database& db) {
         db.exec("CREATE TABLE b (x)");
         throw std::runtime_error("disk says no");
       }},
  };
  Database db(dir.db(), options());
  const auto message = errorOf([&] { migrate(db, steps); });
  EXPECT_NE(message.find(dir.db().string()), std::string::npos) << message;
  EXPECT_NE(message.find("cannot upgrade to schema version 2: disk says no"), std::string::npos) << message;
  EXPECT_EQ(db.queryInteger("PRAGMA user_version"), 1);
  EXPECT_EQ(db.queryInteger("SELECT COUNT(*) FROM sqlite_master WHERE name = 'b'"), 0);
}

// ---- checkpoints ---------------------------------------------------------------

constexpr int kCommits = 40;
constexpr std::size_t kRowBytes = 64 * 1024;

Database& withBlobs(Database& db) {
  db.exec("CREATE TABLE blobs (b TEXT)");
  return db;
}

/// A writer that never checkpoints inside a commit, as the stores open theirs.
struct Writer {
  explicit Writer(const fs::path& file)
      : db(file, OpenOptions{.name = "test database", .auto_checkpoint = false}),
        insert(withBlobs(db), "INSERT INTO blobs (b) VALUES (?)") {}
  void commit() {
    std::lock_guard lock(mutex);
    Transaction transaction(db);
    insert.bind(1, row).run();
    transaction.commit();
  }
  Database db;
  Statement insert;
  std::mutex mutex;
  const std::string row = std::string(kRowBytes, 'r');
};

TEST(SqliteCheckpoint, WithoutCheckpointsTheLogGrowsWithEveryCommit) {
  TempDir dir;
  Writer writer(dir.db());
  for (int i = 0; i < kCommits; ++i) writer.commit();
  EXPECT_GT(fs::file_size(dir.wal()), kCommits * kRowBytes);
}

TEST(SqliteCheckpoint, APassBetweenCommitsKeepsTheLogToAboutOneCommit) {
  TempDir dir;
  Writer writer(dir.db());
  WalCheckpoint checkpoint(dir.db());
  for (int i = 0; i < kCommits; ++i) {
    writer.commit();
    EXPECT_GT(checkpoint.pass(), 0);
  }
  EXPECT_LT(fs::file_size(dir.wal()), 3 * kRowBytes);
  // Everything committed is in the database itself, for any new reader.
  EXPECT_EQ(textOnFile(dir.db(), "SELECT COUNT(*) FROM blobs"), std::to_string(kCommits));
}

TEST(SqliteCheckpoint, TheCheckpointerThreadKeepsTheLogBounded) {
  TempDir dir;
  Writer writer(dir.db());
  WalCheckpointer checkpointer(dir.db(), {.interval = 1ms, .restart_above_bytes = 1}, &writer.mutex);
  for (int i = 0; i < kCommits; ++i) {
    writer.commit();
    // Of two rounds that end after this commit, the second began after it and copied it.
    ASSERT_TRUE(checkpointer.awaitRounds(checkpointer.rounds() + 2, 30s)) << "the checkpointer made no progress";
  }
  EXPECT_LT(fs::file_size(dir.wal()), 3 * kRowBytes);
}

TEST(SqliteCheckpoint, ACheckpointerOnAMissingFileKeepsTryingAndStopsCleanly) {
  TempDir dir;
  WalCheckpointer checkpointer(dir.db(), {.interval = 1ms});
  ASSERT_TRUE(checkpointer.awaitRounds(3, 30s)) << "the checkpointer gave up";
  EXPECT_FALSE(fs::exists(dir.db()));  // it never creates the file it checkpoints
}

}  // namespace
}  // namespace eventnode::plugin::sqlite
