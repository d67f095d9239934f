#include "batch_store.hpp"

#include "batch_schema.hpp"

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SQLite/Utility.h>
#include <Poco/UUIDGenerator.h>

#include <sqlite3.h>
#include <sys/random.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>

using namespace Poco::Data::Keywords;

namespace eventnode::plugins::pow_batches {
namespace {

constexpr auto kCheckpointInterval = std::chrono::milliseconds(50);
// Past this much log (the file stays that large), a checkpoint runs while the writer is held between two
// commits: it then copies every frame, and the next commit starts the log
// again from its beginning instead of growing it without end.
constexpr std::int64_t kRestartBytes = std::int64_t{256} << 20;

/// A random (version 4) UUID, lowercase. From getrandom(): Poco's generator
/// opened, read and closed /dev/urandom for every batch.
std::string randomUuid() {
  unsigned char bytes[16];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    const auto n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Poco::UUIDGenerator::defaultGenerator().createRandom().toString();
    }
    got += static_cast<std::size_t>(n);
  }
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  text.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text += '-';
    text += kHex[bytes[i] >> 4];
    text += kHex[bytes[i] & 0x0f];
  }
  return text;
}

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// One prepared statement, reset after each use.
class Prepared {
 public:
  Prepared(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement_, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("cannot prepare \"") + sql + "\": " + sqlite3_errmsg(db));
    }
  }
  ~Prepared() { sqlite3_finalize(statement_); }
  Prepared(const Prepared&) = delete;
  Prepared& operator=(const Prepared&) = delete;

  Prepared& bind(int index, std::string_view text) {
    check(sqlite3_bind_text(statement_, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC));
    return *this;
  }
  Prepared& bind(int index, std::int64_t value) {
    check(sqlite3_bind_int64(statement_, index, value));
    return *this;
  }
  /// Steps once: true while there is a row to read.
  bool step() {
    const int rc = sqlite3_step(statement_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    check(rc);
    return false;
  }
  /// Runs a statement that returns no rows.
  void run() {
    step();
    reset();
  }
  void reset() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  std::int64_t integer(int column) const { return sqlite3_column_int64(statement_, column); }
  std::string text(int column) const {
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(statement_, column));
    return data ? std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(statement_, column))) : std::string();
  }

 private:
  void check(int rc) {
    if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return;
    const std::string error = sqlite3_errmsg(db_);
    sqlite3_reset(statement_);
    throw std::runtime_error("batch database: " + error);
  }
  sqlite3* db_;
  sqlite3_stmt* statement_ = nullptr;
};

}  // namespace

/// The statements of the hot path, prepared once instead of parsed per batch.
class BatchStore::Statements {
 public:
  explicit Statements(sqlite3* db)
      : begin(db, "BEGIN IMMEDIATE"),
        commit(db, "COMMIT"),
        rollback(db, "ROLLBACK"),
        find(db, "SELECT batch_id FROM batches WHERE content_hash = ?"),
        insert_batch(db,
                     "INSERT INTO batches (content_hash, batch_id, kind, node, node_num, path, recorded_at) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)"),
        insert_message(db, "INSERT INTO outbox_messages (id, message) VALUES (?, ?)"),
        insert_outbox(db, "INSERT INTO outbox (recorder, batch_id, kind, message, message_id) VALUES (?, ?, ?, '', ?)"),
        // Rows written before outbox_messages existed hold their message themselves.
        pending(db,
                "SELECT o.seq, o.batch_id, o.kind, CASE WHEN o.message <> '' THEN o.message ELSE m.message END "
                "FROM outbox o LEFT JOIN outbox_messages m ON m.id = o.message_id "
                "WHERE o.recorder = ? AND o.delivered_at IS NULL ORDER BY o.seq LIMIT ?"),
        delivered(db, "UPDATE outbox SET delivered_at = ?, attempts = attempts + 1 WHERE seq = ?"),
        attempt(db, "UPDATE outbox SET attempts = attempts + 1 WHERE seq = ?"),
        count(db, "SELECT COUNT(*) FROM batches") {}

  Prepared begin, commit, rollback, find, insert_batch, insert_message, insert_outbox, pending, delivered, attempt,
      count;
};

std::string recorderMessage(const RecordRequest& request, const std::string& batch_id, std::int64_t recorded_at) {
  // The batch's fields are already serialized (the canonical text behind its
  // hash); the message puts four keys in front instead of printing the
  // arrays a second time.
  auto text = plugin::Json{{"batch_id", batch_id},
                           {"kind", kindName(request.batch.kind)},
                           {"node", request.node},
                           {"recorded_at", recorded_at}}
                  .dump();
  text.back() = ',';
  text.append(request.batch.canonical, 1, std::string::npos);
  return text;
}

BatchStore::BatchStore(const std::filesystem::path& file, std::vector<std::string> recorders)
    : recorders_(std::move(recorders)) {
  Poco::Data::SQLite::Connector::registerConnector();
  try {
    // A short login timeout: a bad path should fail now, not after Poco's default 60 s.
    session_ = std::make_unique<Poco::Data::Session>("SQLite", file.string(), 5);
    auto& s = *session_;
    // New files only (an existing one keeps its size): a 33 KiB batch message
    // is 3 pages instead of 9, and the WAL is written and checkpointed in a
    // third as many system calls (kernel time per batch about 0.25 -> 0.15 ms).
    s << "PRAGMA page_size=16384", now;
    s << "PRAGMA journal_mode=WAL", now;
    s << "PRAGMA synchronous=FULL", now;
    // Checkpoints run on checkpointLoop's connection; this one waits for them
    // rather than failing when one holds the log for a restart.
    s << "PRAGMA wal_autocheckpoint=0", now;
    auto* db = Poco::Data::SQLite::Utility::dbHandle(s);
    sqlite3_busy_timeout(db, 30000);
    prepareBatchSchema(db);
    statements_ = std::make_unique<Statements>(db);
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("cannot open the batch database " + file.string() + ": " + e.displayText());
  } catch (const std::runtime_error& e) {
    throw std::runtime_error("cannot open the batch database " + file.string() + ": " + e.what());
  }
  checkpointer_ = std::thread([this, file] { checkpointLoop(file); });
}

BatchStore::~BatchStore() {
  {
    std::lock_guard lock(checkpoint_mutex_);
    stopping_ = true;
  }
  checkpoint_wake_.notify_one();
  if (checkpointer_.joinable()) checkpointer_.join();
  statements_.reset();  // finalized before the session closes the connection
}

void BatchStore::checkpointLoop(std::filesystem::path file) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return;  // without it the log only grows until the node stops; SQLite checkpoints it on close
  }
  sqlite3_busy_timeout(db, 1000);
  // The pragma, unlike sqlite3_wal_checkpoint_v2 on a connection that has not
  // read the file yet, opens the log first; it answers (busy, log pages, copied).
  sqlite3_stmt* checkpoint = nullptr;
  sqlite3_stmt* page_size_query = nullptr;
  std::int64_t page_size = 4096;
  if (sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &page_size_query, nullptr) == SQLITE_OK &&
      sqlite3_step(page_size_query) == SQLITE_ROW)
    page_size = sqlite3_column_int64(page_size_query, 0);
  sqlite3_finalize(page_size_query);
  sqlite3_prepare_v2(db, "PRAGMA wal_checkpoint(PASSIVE)", -1, &checkpoint, nullptr);
  const auto passive = [&]() -> std::int64_t {
    if (!checkpoint) return 0;
    std::int64_t log_pages = 0;
    if (sqlite3_step(checkpoint) == SQLITE_ROW) log_pages = sqlite3_column_int64(checkpoint, 1);
    sqlite3_reset(checkpoint);
    return log_pages;
  };
  std::unique_lock lock(checkpoint_mutex_);
  while (!stopping_) {
    checkpoint_wake_.wait_for(lock, kCheckpointInterval, [&] { return stopping_; });
    lock.unlock();
    // Passive: never waits for the writer, copies what is committed so far.
    if (passive() * page_size > kRestartBytes) {
      // Only what was committed during the pass above is left to copy; then
      // the next commit finds the log fully copied and starts it over.
      std::lock_guard hold(mutex_);
      passive();
    }
    lock.lock();
  }
  lock.unlock();
  sqlite3_finalize(checkpoint);
  sqlite3_close(db);
}

std::vector<RecordResult> BatchStore::record(const std::vector<RecordRequest>& requests,
                                             std::vector<RecordedBatch>* fresh) {
  std::lock_guard lock(mutex_);
  auto& st = *statements_;
  auto* db = Poco::Data::SQLite::Utility::dbHandle(*session_);
  std::vector<RecordResult> results;
  results.reserve(requests.size());
  std::vector<RecordedBatch> recorded;
  const auto recorded_at = unixNow();
  st.begin.run();
  try {
    for (std::size_t i = 0; i < requests.size(); ++i) {
      const auto& request = requests[i];
      const auto& hash = request.batch.content_hash;
      st.find.bind(1, hash);
      if (st.find.step()) {
        results.push_back({st.find.text(0), true});
        st.find.reset();
        continue;
      }
      st.find.reset();
      const std::string batch_id = randomUuid();
      const std::string_view kind = kindName(request.batch.kind);
      st.insert_batch.bind(1, hash)
          .bind(2, batch_id)
          .bind(3, kind)
          .bind(4, request.node)
          .bind(5, static_cast<std::int64_t>(request.batch.node_num))
          .bind(6, request.path)
          .bind(7, recorded_at)
          .run();
      RecordedBatch entry{i,
                          batch_id,
                          request.batch.kind,
                          request.node,
                          recorded_at,
                          {},
                          recorderMessage(request, batch_id, recorded_at)};
      // The message is kept under the batch's rowid (batch_schema.cpp says why).
      const auto message_id = sqlite3_last_insert_rowid(db);
      st.insert_message.bind(1, message_id).bind(2, entry.message).run();
      for (const auto& recorder : recorders_) {
        st.insert_outbox.bind(1, recorder).bind(2, batch_id).bind(3, kind).bind(4, message_id).run();
        entry.outbox_seqs.push_back(sqlite3_last_insert_rowid(db));
      }
      results.push_back({batch_id, false});
      if (fresh) recorded.push_back(std::move(entry));
    }
    st.commit.run();
  } catch (...) {
    try {
      st.rollback.run();
    } catch (...) {
    }
    throw;
  }
  if (fresh) *fresh = std::move(recorded);
  return results;
}

std::vector<OutboxRow> BatchStore::pending(const std::string& recorder, std::size_t limit) {
  std::lock_guard lock(mutex_);
  auto& query = statements_->pending;
  query.bind(1, recorder).bind(2, static_cast<std::int64_t>(limit));
  std::vector<OutboxRow> rows;
  try {
    while (query.step()) rows.push_back({query.integer(0), query.text(1), query.text(2), query.text(3), nullptr});
  } catch (...) {
    query.reset();
    throw;
  }
  query.reset();
  return rows;
}

void BatchStore::markDelivered(const std::vector<std::int64_t>& seqs) {
  if (seqs.empty()) return;
  std::lock_guard lock(mutex_);
  auto& st = *statements_;
  const auto at = unixNow();
  st.begin.run();
  try {
    for (const auto seq : seqs) st.delivered.bind(1, at).bind(2, seq).run();
    st.commit.run();
  } catch (...) {
    try {
      st.rollback.run();
    } catch (...) {
    }
    throw;
  }
}

void BatchStore::countAttempt(std::int64_t seq) {
  std::lock_guard lock(mutex_);
  statements_->attempt.bind(1, seq).run();
}

std::size_t BatchStore::batchCount() {
  std::lock_guard lock(mutex_);
  auto& query = statements_->count;
  query.step();
  const auto count = query.integer(0);
  query.reset();
  return static_cast<std::size_t>(count);
}

}  // namespace eventnode::plugins::pow_batches
