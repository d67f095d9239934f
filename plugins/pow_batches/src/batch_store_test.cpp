#include "batch_store.hpp"

#include "batch_writer.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace eventnode::plugins::pow_batches {
namespace {

namespace fs = std::filesystem;
using plugin::Json;

// A test's own folder, and the database file the store under test keeps there.
class TempDir : public test_support::TempDir {
 public:
  TempDir() : test_support::TempDir("pow") {}
  std::filesystem::path db() const { return path() / "pow_batches.sqlite"; }
};

const std::vector<std::string> kRecorders = {"chain", "bus"};

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// A valid batch whose content is told apart by `key` (its block_height).
Batch makeBatch(std::int64_t key, BatchKind kind = BatchKind::Generated, std::uint64_t node_id = 1) {
  Json body{{"public_key", "pk-1"},     {"block_hash", "0xabc"}, {"block_height", key},
            {"nonces", {key, key + 1}}, {"dist", {0.5, 1.25}},   {"node_id", node_id}};
  if (kind == BatchKind::Validated) {
    body["received_dist"] = {0.5, 1.5};
    body["r_target"] = 1.5;
    body["fraud_threshold"] = 0.01;
    body["n_invalid"] = 1;
    body["probability_honest"] = 0.75;
    body["fraud_detected"] = true;
  }
  auto result = validateBatch(kind, body, 1000);
  if (const auto* error = std::get_if<BatchError>(&result))
    throw std::logic_error("test batch refused: " + error->message);
  return std::get<Batch>(std::move(result));
}

RecordRequest request(std::int64_t key, BatchKind kind = BatchKind::Generated, std::string node = "ml-1",
                      std::string path = "websocket") {
  return RecordRequest{makeBatch(key, kind), std::move(node), std::move(path)};
}

bool isUuid(const std::string& text) {
  static const std::regex kUuid("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
  return std::regex_match(text, kUuid);
}

std::vector<std::string> batchIds(const std::vector<OutboxRow>& rows) {
  std::vector<std::string> ids;
  for (const auto& row : rows) ids.push_back(row.batch_id);
  return ids;
}

/// The tables of the first release, which kept each message in its outbox row.
const std::string kFirstReleaseSchema =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE batches (content_hash TEXT PRIMARY KEY, batch_id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,"
    " node TEXT NOT NULL, node_num INTEGER NOT NULL, path TEXT NOT NULL, recorded_at INTEGER NOT NULL);"
    "CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, recorder TEXT NOT NULL, batch_id TEXT NOT NULL,"
    " kind TEXT NOT NULL, message TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, delivered_at INTEGER);"
    "CREATE INDEX outbox_pending ON outbox (recorder, delivered_at, seq);";

/// Runs `sql` on the file with SQLite itself, as an earlier release or an operator would.
void execOnFile(const std::filesystem::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  const std::string message = error ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

std::int64_t integerOnFile(const std::filesystem::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_stmt* statement = nullptr;
  std::int64_t value = -1;
  if (sqlite3_open(file.c_str(), &db) == SQLITE_OK &&
      sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK &&
      sqlite3_step(statement) == SQLITE_ROW)
    value = sqlite3_column_int64(statement, 0);
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return value;
}

TEST(Unit, RecordingANewBatchGivesAUuidAndOneOutboxRowPerRecorder) {
  TempDir dir;
  BatchStore store(dir.db(), kRecorders);
  const auto results = store.record({request(1)});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(isUuid(results[0].batch_id)) << results[0].batch_id;
  EXPECT_FALSE(results[0].duplicate);
  EXPECT_EQ(store.batchCount(), 1u);
  for (const auto& recorder : kRecorders) {
    SCOPED_TRACE(recorder);
    const auto rows = store.pending(recorder, 100);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].batch_id, results[0].batch_id);
    EXPECT_EQ(rows[0].kind, "generated");
  }
  EXPECT_TRUE(store.pending("nobody", 100).empty());
}

TEST(Unit, NewBatchesGetDistinctBatchIds) {
  TempDir dir;
  BatchStore store(dir.db(), kRecorders);
  const auto results = store.record({request(1), request(2), request(1, BatchKind::Validated)});
  ASSERT_EQ(results.size(), 3u);
  const std::set<std::string> ids{results[0].batch_id, results[1].batch_id, results[2].batch_id};
  EXPECT_EQ(ids.size(), 3u);
  for (const auto& result : results) EXPECT_FALSE(result.duplicate);
  EXPECT_EQ(store.batchCount(), 3u);
}

TEST(Unit, RecordingTheSameContentAgainGivesTheFirstBatchIdAsDuplicate) {
  TempDir dir;
  BatchStore store(dir.db(), kRecorders);
  const auto first = store.record({request(1)});
  ASSERT_EQ(first.size(), 1u);
  // The same content over the other path, even from another config id.
  const auto again = store.record({request(1, BatchKind::Generated, "ml-1", "http")});
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].batch_id, first[0].batch_id);
  EXPECT_TRUE(again[0].duplicate);
  const auto third = store.record({request(1, BatchKind::Generated, "ml-other", "websocket")});
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(third[0].batch_id, first[0].batch_id);
  EXPECT_TRUE(third[0].duplicate);
  EXPECT_EQ(store.batchCount(), 1u);
  for (const auto& recorder : kRecorders) EXPECT_EQ(store.pending(recorder, 100).size(), 1u) << recorder;
}

TEST(Unit, RecordingTheSameContentTwiceInOneCallGivesOneBatchId) {
  TempDir dir;
  BatchStore store(dir.db(), kRecorders);
  const auto results =
      store.record({request(1), request(1, BatchKind::Generated, "ml-1", "http"), request(2), request(1)});
  ASSERT_EQ(results.size(), 4u);
  EXPECT_FALSE(results[0].duplicate);
  EXPECT_TRUE(results[1].duplicate);
  EXPECT_EQ(results[1].batch_id, results[0].batch_id);
  EXPECT_FALSE(results[2].duplicate);
  EXPECT_NE(results[2].batch_id, results[0].batch_id);
  EXPECT_TRUE(results[3].duplicate);
  EXPECT_EQ(results[3].batch_id, results[0].batch_id);
  EXPECT_EQ(store.batchCount(), 2u);
  for (const auto& recorder : kRecorders) {
    SCOPED_TRACE(recorder);
    EXPECT_EQ(batchIds(store.pending(recorder, 100)),
              (std::vector<std::string>{results[0].batch_id, results[2].batch_id}));
  }
}

TEST(Unit, PendingReturnsRowsInRecordingOrderPerRecorder) {
  TempDir dir;
  BatchStore store(dir.db(), kRecorders);
  std::vector<std::string> expected;
  // Keys not in ascending order, so recording order is not content order.
  for (const std::int64_t key : {5, 3, 9}) expected.push_back(store.record({request(key)}).at(0).batch_id);
  for (const auto& result : store.record({request(1), request(7, BatchKind::Validated)}))
    expected.push_back(result.batch_id);
  for (const auto& recorder : kRecorders) {
    SCOPED_TRACE(recorder);
    const auto rows = store.pending(recorder, 100);
    EXPECT_EQ(batchIds(rows), expected);
    for (std::size_t i = 1; i < rows.size(); ++i) EXPECT_LT(rows[i - 1].seq, rows[i].seq);
    ASSERT_EQ(rows.size(), 5u);
    EXPECT_EQ(rows[4].kind, "validated");
  }
}

TEST(Unit, PendingReturnsAtMostLimitOldestRows) {
  TempDir dir;
  BatchStore store(dir.db(), kRecorders);
  std::vector<std::string> ids;
  for (std::int64_t key = 0; key < 5; ++key) ids.push_back(store.record({request(key)}).at(0).batch_id);
  EXPECT_EQ(batchIds(store.pending("chain", 2)), (std::vector<std::string>{ids[0], ids[1]}));
  EXPECT_TRUE(store.pending("chain", 0).empty());
}

TEST(Unit, OutboxMessageIsTheRecorderMessageOfTheBatch) {
  TempDir dir;
  BatchStore store(dir.db(), {"chain"});
  const auto before = unixNow();
  const auto generated = request(10, BatchKind::Generated, "ml-1", "http");
  const auto validated = request(11, BatchKind::Validated, "ml-2", "websocket");
  const auto results = store.record({generated, validated});
  const auto after = unixNow();
  const auto rows = store.pending("chain", 100);
  ASSERT_EQ(rows.size(), 2u);

  const auto message = Json::parse(rows[0].message);
  EXPECT_EQ(message["batch_id"], results[0].batch_id);
  EXPECT_EQ(message["kind"], "generated");
  EXPECT_EQ(message["node"], "ml-1");
  EXPECT_EQ(message["node_id"], 1);
  EXPECT_EQ(message["public_key"], "pk-1");
  EXPECT_EQ(message["block_hash"], "0xabc");
  EXPECT_EQ(message["block_height"], 10);
  EXPECT_EQ(message["nonces"], Json({10, 11}));
  EXPECT_EQ(message["dist"], Json({0.5, 1.25}));
  ASSERT_TRUE(message["recorded_at"].is_number_integer());
  const auto recorded_at = message["recorded_at"].get<std::int64_t>();
  EXPECT_GE(recorded_at, before);
  EXPECT_LE(recorded_at, after);
  EXPECT_FALSE(message.contains("received_dist"));
  EXPECT_FALSE(message.contains("path"));
  EXPECT_EQ(message, Json::parse(recorderMessage(generated, results[0].batch_id, recorded_at)));

  const auto validated_message = Json::parse(rows[1].message);
  EXPECT_EQ(validated_message["batch_id"], results[1].batch_id);
  EXPECT_EQ(validated_message["kind"], "validated");
  EXPECT_EQ(validated_message["node"], "ml-2");
  EXPECT_EQ(validated_message["received_dist"], Json({0.5, 1.5}));
  EXPECT_EQ(validated_message["r_target"], 1.5);
  EXPECT_EQ(validated_message["fraud_threshold"], 0.01);
  EXPECT_EQ(validated_message["n_invalid"], 1);
  EXPECT_EQ(validated_message["probability_honest"], 0.75);
  EXPECT_EQ(validated_message["fraud_detected"], true);
  EXPECT_EQ(validated_message, Json::parse(recorderMessage(validated, results[1].batch_id,
                                                           validated_message["recorded_at"].get<std::int64_t>())));
}

TEST(Unit, RecorderMessageIsTheFieldsPlusBatchIdKindNodeAndRecordedAt) {
  const auto req = request(4, BatchKind::Generated, "ml-3", "http");
  auto expected = Json::parse(req.batch.canonical);
  expected["batch_id"] = "id-1";
  expected["kind"] = "generated";
  expected["node"] = "ml-3";
  expected["recorded_at"] = 1763784000;
  EXPECT_EQ(Json::parse(recorderMessage(req, "id-1", 1763784000)), expected);
}

TEST(Unit, MarkDeliveredRemovesTheRowFromThatRecordersPendingOnly) {
  TempDir dir;
  BatchStore store(dir.db(), kRecorders);
  const auto results = store.record({request(1), request(2)});
  const auto chain = store.pending("chain", 100);
  ASSERT_EQ(chain.size(), 2u);
  store.markDelivered({chain[0].seq});
  EXPECT_EQ(batchIds(store.pending("chain", 100)), (std::vector<std::string>{results[1].batch_id}));
  EXPECT_EQ(batchIds(store.pending("bus", 100)), (std::vector<std::string>{results[0].batch_id, results[1].batch_id}));
  // Delivering again changes nothing.
  store.markDelivered({chain[0].seq});
  EXPECT_EQ(store.pending("chain", 100).size(), 1u);
  EXPECT_EQ(store.pending("bus", 100).size(), 2u);
  EXPECT_EQ(store.batchCount(), 2u);
}

TEST(Unit, CountAttemptKeepsTheRowPending) {
  TempDir dir;
  BatchStore store(dir.db(), kRecorders);
  store.record({request(1)});
  const auto rows = store.pending("chain", 100);
  ASSERT_EQ(rows.size(), 1u);
  store.countAttempt(rows[0].seq);
  store.countAttempt(rows[0].seq);
  const auto after = store.pending("chain", 100);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].seq, rows[0].seq);
  EXPECT_EQ(after[0].message, rows[0].message);
}

TEST(Unit, RecordsAndOutboxSurviveClosingAndReopeningTheStore) {
  TempDir dir;
  std::vector<RecordResult> first;
  std::vector<OutboxRow> chain_before, bus_before;
  {
    BatchStore store(dir.db(), kRecorders);
    first = store.record({request(1), request(2), request(3, BatchKind::Validated)});
    store.markDelivered({store.pending("chain", 100).at(0).seq});
    chain_before = store.pending("chain", 100);
    bus_before = store.pending("bus", 100);
  }
  ASSERT_EQ(chain_before.size(), 2u);
  ASSERT_EQ(bus_before.size(), 3u);
  {
    BatchStore store(dir.db(), kRecorders);
    EXPECT_EQ(store.batchCount(), 3u);
    const auto chain = store.pending("chain", 100);
    const auto bus = store.pending("bus", 100);
    ASSERT_EQ(chain.size(), chain_before.size());
    ASSERT_EQ(bus.size(), bus_before.size());
    for (std::size_t i = 0; i < chain.size(); ++i) {
      EXPECT_EQ(chain[i].seq, chain_before[i].seq);
      EXPECT_EQ(chain[i].batch_id, chain_before[i].batch_id);
      EXPECT_EQ(chain[i].kind, chain_before[i].kind);
      EXPECT_EQ(chain[i].message, chain_before[i].message);
    }
    EXPECT_EQ(batchIds(bus), batchIds(bus_before));
    // Exactly-once holds across the restart.
    const auto again = store.record({request(2), request(3, BatchKind::Validated), request(4)});
    ASSERT_EQ(again.size(), 3u);
    EXPECT_EQ(again[0].batch_id, first[1].batch_id);
    EXPECT_TRUE(again[0].duplicate);
    EXPECT_EQ(again[1].batch_id, first[2].batch_id);
    EXPECT_TRUE(again[1].duplicate);
    EXPECT_FALSE(again[2].duplicate);
    EXPECT_EQ(store.batchCount(), 4u);
    // New rows come after the old ones.
    const auto chain_after = store.pending("chain", 100);
    ASSERT_EQ(chain_after.size(), 3u);
    EXPECT_EQ(chain_after[2].batch_id, again[2].batch_id);
    EXPECT_GT(chain_after[2].seq, chain_before.back().seq);
  }
}

TEST(Unit, RecordReportsNewBatchesWithTheirOutboxRowPerRecorder) {
  TempDir dir;
  BatchStore store(dir.db(), kRecorders);
  store.record({request(1)});
  std::vector<RecordedBatch> fresh;
  const auto results = store.record({request(1), request(2), request(3, BatchKind::Validated, "ml-2")}, &fresh);
  ASSERT_EQ(fresh.size(), 2u);  // request(1) is a duplicate
  EXPECT_EQ(fresh[0].request, 1u);
  EXPECT_EQ(fresh[1].request, 2u);
  EXPECT_EQ(fresh[0].batch_id, results[1].batch_id);
  EXPECT_EQ(fresh[1].batch_id, results[2].batch_id);
  EXPECT_EQ(fresh[1].kind, BatchKind::Validated);
  EXPECT_EQ(fresh[1].node, "ml-2");
  for (std::size_t r = 0; r < kRecorders.size(); ++r) {
    SCOPED_TRACE(kRecorders[r]);
    const auto rows = store.pending(kRecorders[r], 100);
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(fresh[0].outbox_seqs.at(r), rows[1].seq);
    EXPECT_EQ(fresh[1].outbox_seqs.at(r), rows[2].seq);
    EXPECT_EQ(fresh[0].message, rows[1].message);
    EXPECT_EQ(fresh[1].message, rows[2].message);
  }
  EXPECT_EQ(fresh[0].message, recorderMessage(request(2), fresh[0].batch_id, fresh[0].recorded_at));
}

TEST(Unit, OutboxRowsWrittenBeforeOutboxMessagesExistedAreStillDelivered) {
  TempDir dir;
  execOnFile(dir.db(),
             kFirstReleaseSchema +
                 "INSERT INTO batches VALUES ('h-old', 'id-old', 'generated', 'ml-1', 1, 'http', 1);"
                 "INSERT INTO outbox (recorder, batch_id, kind, message) VALUES ('chain', 'id-old', 'generated', "
                 "'{\"old\":1}');");
  BatchStore store(dir.db(), {"chain"});
  const auto fresh = store.record({request(1)});
  const auto rows = store.pending("chain", 100);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].batch_id, "id-old");
  EXPECT_EQ(rows[0].message, R"({"old":1})");
  EXPECT_EQ(rows[1].batch_id, fresh[0].batch_id);
  EXPECT_EQ(Json::parse(rows[1].message)["batch_id"], fresh[0].batch_id);
  EXPECT_EQ(store.batchCount(), 2u);
}

TEST(Unit, AFileWithMessagesUnderTheirBatchIdIsUpgradedAndLosesNoPendingRow) {
  TempDir dir;
  const auto old_hash = request(7).batch.content_hash;
  // The second release's schema: messages in outbox_messages under the batch_id,
  // plus one row from the first release with its message inline.
  execOnFile(dir.db(),
             kFirstReleaseSchema +
                 "CREATE TABLE outbox_messages (batch_id TEXT PRIMARY KEY, message TEXT NOT NULL);"
                 "INSERT INTO batches VALUES ('h-inline', 'id-inline', 'generated', 'ml-1', 1, 'http', 1);"
                 "INSERT INTO batches VALUES ('h-sent', 'id-sent', 'generated', 'ml-1', 1, 'http', 2);"
                 "INSERT INTO batches VALUES ('" +
                 old_hash +
                 "', 'id-waiting', 'validated', 'ml-2', 2, 'websocket', 3);"
                 "INSERT INTO outbox (recorder, batch_id, kind, message) VALUES ('chain', 'id-inline', 'generated', "
                 "'{\"inline\":1}');"
                 "INSERT INTO outbox (recorder, batch_id, kind, message, delivered_at) VALUES ('chain', 'id-sent', "
                 "'generated', '', 5);"
                 "INSERT INTO outbox (recorder, batch_id, kind, message) VALUES ('chain', 'id-waiting', 'validated', "
                 "'');"
                 "INSERT INTO outbox_messages VALUES ('id-sent', '{\"sent\":1}');"
                 "INSERT INTO outbox_messages VALUES ('id-waiting', '{\"waiting\":1}');");
  std::vector<OutboxRow> before;
  {
    BatchStore store(dir.db(), {"chain"});
    before = store.pending("chain", 100);
    ASSERT_EQ(before.size(), 2u);
    EXPECT_EQ(before[0].batch_id, "id-inline");
    EXPECT_EQ(before[0].message, R"({"inline":1})");
    EXPECT_EQ(before[1].batch_id, "id-waiting");
    EXPECT_EQ(before[1].kind, "validated");
    EXPECT_EQ(before[1].message, R"({"waiting":1})");
    // Exactly-once still knows the old batches.
    const auto again = store.record({request(7), request(8)});
    EXPECT_EQ(again[0].batch_id, "id-waiting");
    EXPECT_TRUE(again[0].duplicate);
    EXPECT_FALSE(again[1].duplicate);
    const auto rows = store.pending("chain", 100);
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(Json::parse(rows[2].message)["batch_id"], again[1].batch_id);
    EXPECT_EQ(store.batchCount(), 4u);
  }
  EXPECT_EQ(integerOnFile(dir.db(), "PRAGMA user_version"), 2);
  EXPECT_EQ(integerOnFile(dir.db(), "SELECT COUNT(*) FROM pragma_table_info('outbox_messages') WHERE name = 'id'"), 1);
  // Opening the upgraded file again changes nothing.
  BatchStore store(dir.db(), {"chain"});
  const auto rows = store.pending("chain", 100);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].message, before[0].message);
  EXPECT_EQ(rows[1].message, before[1].message);
}

TEST(Unit, AFileFromANewerReleaseIsRefusedNamingBothVersions) {
  TempDir dir;
  { BatchStore store(dir.db(), {"chain"}); }
  execOnFile(dir.db(), "PRAGMA user_version = 3;");
  try {
    BatchStore store(dir.db(), {"chain"});
    FAIL() << "a file with a newer schema was opened";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("schema version 3, newer than this node's 2"), std::string::npos) << message;
    EXPECT_NE(message.find(dir.db().string()), std::string::npos) << message;
  }
}

TEST(Unit, BatchWriterHandsNewBatchesWithTheirRecorderMessageToTheCallback) {
  TempDir dir;
  BatchStore store(dir.db(), kRecorders);
  std::mutex mutex;
  std::vector<std::shared_ptr<const RecordedBatch>> seen;
  BatchWriter writer(store, nullptr, [&](const std::vector<std::shared_ptr<const RecordedBatch>>& batches) {
    std::lock_guard lock(mutex);
    seen.insert(seen.end(), batches.begin(), batches.end());
  });
  const auto first = writer.submit(request(1)).get();
  writer.submit(request(1)).get();  // a duplicate: not handed on
  writer.stop();
  std::lock_guard lock(mutex);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0]->batch_id, first.batch_id);
  EXPECT_EQ(seen[0]->message, recorderMessage(request(1), first.batch_id, seen[0]->recorded_at));
  EXPECT_EQ(seen[0]->outbox_seqs.size(), kRecorders.size());
}

TEST(Unit, OpeningAFileThatIsNotADatabaseThrowsNamingIt) {
  TempDir dir;
  const auto file = dir.db();
  {
    std::ofstream out(file, std::ios::binary);
    out << std::string(4096, 'x');
  }
  try {
    BatchStore store(file, kRecorders);
    ADD_FAILURE() << "opened " << file;
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
  }
}

TEST(Unit, BatchWriterRecordsConcurrentSubmissionsExactlyOnce) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  constexpr int kDistinct = 1000;  // fewer than 8 × 200: threads overlap
  TempDir dir;
  BatchStore store(dir.db(), kRecorders);
  std::atomic<int> callbacks{0};
  BatchWriter writer(store, [&] { callbacks.fetch_add(1); });

  std::vector<std::vector<std::pair<int, RecordResult>>> seen(kThreads);
  std::vector<std::string> errors(kThreads);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        std::vector<std::pair<int, std::future<RecordResult>>> futures;
        start.arrive_and_wait();
        for (int i = 0; i < kPerThread; ++i) {
          // Every fourth submission repeats the thread's previous one.
          const int key = (i % 4 == 3) ? (t * kPerThread + i - 1) % kDistinct : (t * kPerThread + i) % kDistinct;
          futures.emplace_back(key,
                               writer.submit(request(key, BatchKind::Generated, "ml-" + std::to_string(t), "http")));
        }
        for (auto& [key, future] : futures) {
          if (future.wait_for(std::chrono::seconds(60)) != std::future_status::ready)
            throw std::runtime_error("result timed out");
          seen[static_cast<std::size_t>(t)].emplace_back(key, future.get());
        }
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(t)] = e.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  writer.stop();

  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(errors[static_cast<std::size_t>(t)], "") << "thread " << t;
    EXPECT_EQ(seen[static_cast<std::size_t>(t)].size(), static_cast<std::size_t>(kPerThread)) << "thread " << t;
  }
  std::map<int, std::set<std::string>> ids_by_key;
  std::map<int, int> firsts_by_key;
  std::size_t submissions = 0;
  for (const auto& results : seen) {
    for (const auto& [key, result] : results) {
      ++submissions;
      EXPECT_TRUE(isUuid(result.batch_id)) << result.batch_id;
      ids_by_key[key].insert(result.batch_id);
      if (!result.duplicate) ++firsts_by_key[key];
    }
  }
  EXPECT_EQ(submissions, static_cast<std::size_t>(kThreads * kPerThread));
  std::set<std::string> all_ids;
  for (const auto& [key, ids] : ids_by_key) {
    EXPECT_EQ(ids.size(), 1u) << "key " << key << " got several batch_ids";
    EXPECT_EQ(firsts_by_key[key], 1) << "key " << key << " recorded as new this many times";
    all_ids.insert(ids.begin(), ids.end());
  }
  const auto distinct = ids_by_key.size();
  EXPECT_GT(distinct, 0u);
  EXPECT_LT(distinct, submissions);  // the workload did hold duplicates
  EXPECT_EQ(all_ids.size(), distinct);
  EXPECT_EQ(store.batchCount(), distinct);
  EXPECT_EQ(store.pending("chain", 100000).size(), distinct);
  EXPECT_EQ(store.pending("bus", 100000).size(), distinct);
  EXPECT_GE(callbacks.load(), 1);
}

TEST(Unit, BatchWriterStopRecordsWhatIsQueuedFirst) {
  TempDir dir;
  BatchStore store(dir.db(), kRecorders);
  std::atomic<int> callbacks{0};
  BatchWriter writer(store, [&] { callbacks.fetch_add(1); });
  std::vector<std::future<RecordResult>> futures;
  for (std::int64_t key = 0; key < 50; ++key) futures.push_back(writer.submit(request(key)));
  writer.stop();
  for (auto& future : futures) {
    ASSERT_EQ(future.wait_for(std::chrono::seconds(0)), std::future_status::ready);
    EXPECT_FALSE(future.get().duplicate);
  }
  EXPECT_EQ(store.batchCount(), 50u);
  EXPECT_GE(callbacks.load(), 1);
}

TEST(Unit, BatchWriterCallbackDoesNotFireForDuplicatesOnly) {
  TempDir dir;
  BatchStore store(dir.db(), kRecorders);
  const auto first = store.record({request(1)}).at(0);
  std::atomic<int> callbacks{0};
  BatchWriter writer(store, [&] { callbacks.fetch_add(1); });
  auto future = writer.submit(request(1));
  ASSERT_EQ(future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  const auto result = future.get();
  writer.stop();
  EXPECT_TRUE(result.duplicate);
  EXPECT_EQ(result.batch_id, first.batch_id);
  EXPECT_EQ(callbacks.load(), 0);
}

TEST(Unit, BatchWriterSubmitAfterStopGivesAnExceptionInTheFuture) {
  TempDir dir;
  BatchStore store(dir.db(), kRecorders);
  BatchWriter writer(store, nullptr);
  writer.stop();
  writer.stop();  // idempotent
  auto future = writer.submit(request(1));
  ASSERT_EQ(future.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_THROW(future.get(), std::runtime_error);
  EXPECT_EQ(store.batchCount(), 0u);
}

}  // namespace
}  // namespace eventnode::plugins::pow_batches
