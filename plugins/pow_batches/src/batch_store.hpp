#pragma once
// The durable record of batches and the outbox to the recorders, in one
// SQLite file (WAL, synchronous=FULL): a batch is acknowledged only after the
// transaction that holds it and its outbox rows is on disk.
#include "batch.hpp"

#include <eventnode/plugin/sqlite.hpp>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace eventnode::plugins::pow_batches {

/// One batch to record, with the path it came by ("websocket" or "http").
struct RecordRequest {
  Batch batch;
  std::string node;  ///< the ML node's config id
  std::string path;
};

struct RecordResult {
  std::string batch_id;  ///< UUID given when first recorded
  bool duplicate = false;
};

/// A batch newly recorded by record(), as the outbox dispatchers take it from
/// memory instead of reading its row back.
struct RecordedBatch {
  std::size_t request = 0;  ///< its index in the requests given to record()
  std::string batch_id;
  BatchKind kind = BatchKind::Generated;
  std::string node;
  std::int64_t recorded_at = 0;
  std::vector<std::int64_t> outbox_seqs;  ///< its outbox row per recorder, in the store's recorder order
  std::string message;                    ///< the recorder message (recorderMessage)
};

struct OutboxRow {
  std::int64_t seq = 0;
  std::string batch_id;
  std::string kind;
  std::string message;  ///< the JSON sent to the recorder
  /// Set when the row comes from memory (then `message` is empty: it is recorded->message).
  std::shared_ptr<const RecordedBatch> recorded;
};

class BatchStore {
 public:
  /// Opens (creating) the database and starts its checkpoint thread. Throws
  /// plugin::sqlite::Error (a std::runtime_error) naming the file.
  BatchStore(const std::filesystem::path& file, std::vector<std::string> recorders);
  ~BatchStore();

  /// Records every request in one transaction: new content gets a batch_id and
  /// an outbox row per recorder; known content returns its first batch_id.
  /// Results are in request order; `fresh`, when given, gets the new batches.
  /// Thread-safe; throws std::runtime_error (nothing recorded) on a storage error.
  std::vector<RecordResult> record(const std::vector<RecordRequest>& requests,
                                   std::vector<RecordedBatch>* fresh = nullptr);

  /// The oldest undelivered rows of a recorder, in recording order.
  std::vector<OutboxRow> pending(const std::string& recorder, std::size_t limit);
  /// Marks rows delivered, in one transaction.
  void markDelivered(const std::vector<std::int64_t>& seqs);
  void countAttempt(std::int64_t seq);

  std::size_t batchCount();

  /// The recorders' names, in the order of RecordedBatch::outbox_seqs.
  const std::vector<std::string>& recorders() const { return recorders_; }

 private:
  class Statements;

  std::mutex mutex_;  // held around each transaction, and by the checkpointer to restart the log
  std::vector<std::string> recorders_;
  std::unique_ptr<plugin::sqlite::Database> db_;
  std::unique_ptr<Statements> statements_;  // prepared once, on db_'s connection
  /// Copies committed log frames into the database file on its own
  /// connection, so the writer's commits (and so the acks) do not wait for
  /// checkpoints. Declared last: stopped first.
  std::unique_ptr<plugin::sqlite::WalCheckpointer> checkpointer_;
};

/// The JSON text a recorder receives for a batch (MsgSubmitPocBatch-shaped).
std::string recorderMessage(const RecordRequest& request, const std::string& batch_id, std::int64_t recorded_at);

}  // namespace eventnode::plugins::pow_batches
