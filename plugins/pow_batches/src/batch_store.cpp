#include "batch_store.hpp"

#include "batch_schema.hpp"

#include <Poco/UUIDGenerator.h>

#include <sys/random.h>

#include <cerrno>
#include <chrono>

namespace eventnode::plugins::pow_batches {
namespace {

using plugin::sqlite::Statement;

// Checkpoints run every 50 ms on their own connection; past 256 MiB of log
// (the file stays that large) one runs while the writer is held between two
// commits: it then copies every frame, and the next commit starts the log
// again from its beginning instead of growing it without end.
constexpr plugin::sqlite::CheckpointPolicy kCheckpoints{.interval = std::chrono::milliseconds(50),
                                                        .restart_above_bytes = std::int64_t{256} << 20};

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

}  // namespace

/// The statements of the hot path, prepared once instead of parsed per batch.
class BatchStore::Statements {
 public:
  explicit Statements(plugin::sqlite::Database& db)
      : find(db, "SELECT batch_id FROM batches WHERE content_hash = ?"),
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

  Statement find, insert_batch, insert_message, insert_outbox, pending, delivered, attempt, count;
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
  db_ = std::make_unique<plugin::sqlite::Database>(
      file, plugin::sqlite::OpenOptions{.name = "batch database",
                                        .synchronous = plugin::sqlite::Synchronous::Full,
                                        // The checkpointer holds the log for a restart now and then: wait for it.
                                        .busy_timeout = std::chrono::seconds(30),
                                        // New files only (an existing one keeps its size): a 33 KiB batch
                                        // message is 3 pages instead of 9, and the WAL is written and
                                        // checkpointed in a third as many system calls (kernel time per batch
                                        // about 0.25 -> 0.15 ms).
                                        .page_size = 16384,
                                        .auto_checkpoint = false});
  prepareBatchSchema(*db_);
  statements_ = std::make_unique<Statements>(*db_);
  checkpointer_ = std::make_unique<plugin::sqlite::WalCheckpointer>(file, kCheckpoints, &mutex_);
}

// Members go in reverse: the checkpointer stops, then the statements are
// finalized before the connection closes.
BatchStore::~BatchStore() = default;

std::vector<RecordResult> BatchStore::record(const std::vector<RecordRequest>& requests,
                                             std::vector<RecordedBatch>* fresh) {
  std::lock_guard lock(mutex_);
  auto& st = *statements_;
  std::vector<RecordResult> results;
  results.reserve(requests.size());
  std::vector<RecordedBatch> recorded;
  const auto recorded_at = unixNow();
  plugin::sqlite::Transaction transaction(*db_);  // rolled back if anything below throws
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
    const auto message_id = db_->lastInsertRowid();
    st.insert_message.bind(1, message_id).bind(2, entry.message).run();
    for (const auto& recorder : recorders_) {
      st.insert_outbox.bind(1, recorder).bind(2, batch_id).bind(3, kind).bind(4, message_id).run();
      entry.outbox_seqs.push_back(db_->lastInsertRowid());
    }
    results.push_back({batch_id, false});
    if (fresh) recorded.push_back(std::move(entry));
  }
  transaction.commit();
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
  plugin::sqlite::Transaction transaction(*db_);
  for (const auto seq : seqs) st.delivered.bind(1, at).bind(2, seq).run();
  transaction.commit();
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
