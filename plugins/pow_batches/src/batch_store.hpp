#pragma once
// The durable record of batches and the outbox to the recorders, in one
// SQLite file (WAL, synchronous=FULL): a batch is acknowledged only after the
// transaction that holds it and its outbox rows is on disk.
#include "batch.hpp"

#include <Poco/Data/Session.h>

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

struct OutboxRow {
  std::int64_t seq = 0;
  std::string batch_id;
  std::string kind;
  std::string message;  ///< the JSON sent to the recorder
};

class BatchStore {
 public:
  /// Opens (creating) the database. Throws std::runtime_error naming the file.
  BatchStore(const std::filesystem::path& file, std::vector<std::string> recorders);
  ~BatchStore();

  /// Records every request in one transaction: new content gets a batch_id and
  /// an outbox row per recorder; known content returns its first batch_id.
  /// Results are in request order. Thread-safe.
  std::vector<RecordResult> record(const std::vector<RecordRequest>& requests);

  /// The oldest undelivered rows of a recorder, in recording order.
  std::vector<OutboxRow> pending(const std::string& recorder, std::size_t limit);
  /// Marks rows delivered, in one transaction.
  void markDelivered(const std::vector<std::int64_t>& seqs);
  void countAttempt(std::int64_t seq);

  std::size_t batchCount();

 private:
  std::mutex mutex_;
  std::vector<std::string> recorders_;
  std::unique_ptr<Poco::Data::Session> session_;
};

/// The JSON text a recorder receives for a batch (MsgSubmitPocBatch-shaped).
std::string recorderMessage(const RecordRequest& request, const std::string& batch_id, std::int64_t recorded_at);

}  // namespace eventnode::plugins::pow_batches
