#include "batch_store.hpp"

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Statement.h>
#include <Poco/Data/Transaction.h>
#include <Poco/UUIDGenerator.h>

#include <chrono>

using namespace Poco::Data::Keywords;

namespace eventnode::plugins::pow_batches {
namespace {

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

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
    s << "PRAGMA journal_mode=WAL", now;
    s << "PRAGMA synchronous=FULL", now;
    s << "CREATE TABLE IF NOT EXISTS batches (content_hash TEXT PRIMARY KEY, batch_id TEXT NOT NULL UNIQUE, kind TEXT "
         "NOT NULL,"
         " node TEXT NOT NULL, node_num INTEGER NOT NULL, path TEXT NOT NULL, recorded_at INTEGER NOT NULL)",
        now;
    s << "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, recorder TEXT NOT NULL, batch_id "
         "TEXT NOT NULL,"
         " kind TEXT NOT NULL, message TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, delivered_at INTEGER)",
        now;
    s << "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (recorder, delivered_at, seq)", now;
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("cannot open the batch database " + file.string() + ": " + e.displayText());
  }
}

BatchStore::~BatchStore() = default;

std::vector<RecordResult> BatchStore::record(const std::vector<RecordRequest>& requests) {
  std::lock_guard lock(mutex_);
  std::vector<RecordResult> results;
  results.reserve(requests.size());
  auto& s = *session_;
  Poco::Data::Transaction transaction(s);
  const auto recorded_at = unixNow();
  for (const auto& request : requests) {
    std::string existing;
    std::string hash = request.batch.content_hash;
    s << "SELECT batch_id FROM batches WHERE content_hash = ?", into(existing), use(hash), now;
    if (!existing.empty()) {
      results.push_back({existing, true});
      continue;
    }
    std::string batch_id = Poco::UUIDGenerator::defaultGenerator().createRandom().toString();
    std::string kind = kindName(request.batch.kind);
    std::string node = request.node;
    auto node_num = static_cast<Poco::Int64>(request.batch.node_num);
    std::string path = request.path;
    Poco::Int64 at = recorded_at;
    s << "INSERT INTO batches (content_hash, batch_id, kind, node, node_num, path, recorded_at) VALUES (?, ?, ?, ?, ?, "
         "?, ?)",
        use(hash), use(batch_id), use(kind), use(node), use(node_num), use(path), use(at), now;
    std::string message = recorderMessage(request, batch_id, recorded_at);
    for (auto recorder : recorders_) {
      s << "INSERT INTO outbox (recorder, batch_id, kind, message) VALUES (?, ?, ?, ?)", use(recorder), use(batch_id),
          use(kind), use(message), now;
    }
    results.push_back({batch_id, false});
  }
  transaction.commit();
  return results;
}

std::vector<OutboxRow> BatchStore::pending(const std::string& recorder, std::size_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<Poco::Int64> seqs;
  std::vector<std::string> ids, kinds, messages;
  std::string name = recorder;
  auto count = static_cast<Poco::Int64>(limit);
  *session_ << "SELECT seq, batch_id, kind, message FROM outbox WHERE recorder = ? AND delivered_at IS NULL ORDER BY "
               "seq LIMIT ?",
      into(seqs), into(ids), into(kinds), into(messages), use(name), use(count), now;
  std::vector<OutboxRow> rows;
  for (std::size_t i = 0; i < seqs.size(); ++i) rows.push_back({seqs[i], ids[i], kinds[i], messages[i]});
  return rows;
}

void BatchStore::markDelivered(const std::vector<std::int64_t>& seqs) {
  if (seqs.empty()) return;
  std::lock_guard lock(mutex_);
  Poco::Data::Transaction transaction(*session_);
  Poco::Int64 at = unixNow();
  for (const auto seq : seqs) {
    Poco::Int64 row = seq;
    *session_ << "UPDATE outbox SET delivered_at = ?, attempts = attempts + 1 WHERE seq = ?", use(at), use(row), now;
  }
  transaction.commit();
}

void BatchStore::countAttempt(std::int64_t seq) {
  std::lock_guard lock(mutex_);
  Poco::Int64 row = seq;
  *session_ << "UPDATE outbox SET attempts = attempts + 1 WHERE seq = ?", use(row), now;
}

std::size_t BatchStore::batchCount() {
  std::lock_guard lock(mutex_);
  Poco::Int64 count = 0;
  *session_ << "SELECT COUNT(*) FROM batches", into(count), now;
  return static_cast<std::size_t>(count);
}

}  // namespace eventnode::plugins::pow_batches
