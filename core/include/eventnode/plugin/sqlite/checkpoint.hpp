#pragma once
/// Write-ahead-log checkpoints off the writer's path. With checkpoints left
/// to SQLite, the commit that crosses 1,000 log pages copies them into the
/// database and fsyncs it before it returns: a stall of ~10 ms on whoever
/// committed (an ack, a live event). Measured in pow_batches and
/// solana_listener: open the writer with auto_checkpoint = false and run a
/// WalCheckpointer on the file, so no commit pays for a checkpoint.
#include "database.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

namespace eventnode::plugin::sqlite {

struct CheckpointPolicy {
  /// How often a passive checkpoint copies what has been committed.
  std::chrono::milliseconds interval{1000};
  /// A passive checkpoint never waits for the writer, so under a steady
  /// stream of commits the log is never wholly copied and its file only
  /// grows. Past this many bytes of log, one more pass runs while holding
  /// the writer's mutex between two commits: it copies the rest, and the
  /// next commit starts the log again from its beginning. 0: never hold the writer.
  std::int64_t restart_above_bytes = 0;
};

/// A connection of its own to a WAL file, for checkpoints. Not thread-safe:
/// one thread (a WalCheckpointer's, or a test's) uses it.
class WalCheckpoint {
 public:
  /// Opens the existing `file`; throws Error naming it.
  explicit WalCheckpoint(const std::filesystem::path& file,
                         std::chrono::milliseconds busy_timeout = std::chrono::seconds(1))
      : db_(file, OpenOptions{.name = "checkpoint of",
                              .synchronous = Synchronous::Full,
                              .busy_timeout = busy_timeout,
                              .auto_checkpoint = false,
                              .create = false}) {
    page_size_ = db_.queryInteger("PRAGMA page_size", 4096);
    // The pragma, unlike sqlite3_wal_checkpoint_v2 on a connection that has
    // not read the file yet, opens the log first. It answers (busy, log
    // pages, pages copied).
    if (sqlite3_prepare_v2(db_.handle(), "PRAGMA wal_checkpoint(PASSIVE)", -1, &checkpoint_, nullptr) != SQLITE_OK) {
      throw db_.lastError("cannot prepare a checkpoint");
    }
  }
  ~WalCheckpoint() { sqlite3_finalize(checkpoint_); }
  WalCheckpoint(const WalCheckpoint&) = delete;
  WalCheckpoint& operator=(const WalCheckpoint&) = delete;

  /// Copies every committed frame it can without waiting for the writer.
  /// Returns the log's length in bytes (copied or not): it only shrinks when
  /// a commit finds the log wholly copied and starts it over. Throws Error.
  std::int64_t pass() {
    std::int64_t log_pages = 0;
    const int rc = sqlite3_step(checkpoint_);
    if (rc == SQLITE_ROW) log_pages = sqlite3_column_int64(checkpoint_, 1);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      auto error = db_.lastError("cannot checkpoint");
      sqlite3_reset(checkpoint_);
      throw error;
    }
    sqlite3_reset(checkpoint_);
    return log_pages * page_size_;
  }

 private:
  Database db_;
  std::int64_t page_size_ = 4096;
  sqlite3_stmt* checkpoint_ = nullptr;
};

/// A thread that checkpoints a WAL file by CheckpointPolicy, started by the
/// constructor and joined by the destructor. The store that owns the writer
/// owns this too, declared after the writer's mutex so it stops first.
class WalCheckpointer {
 public:
  /// `writer`, if given, is the mutex the writer holds around each
  /// transaction (see CheckpointPolicy::restart_above_bytes); it must outlive
  /// this object. Never throws for the file: a checkpoint that fails (the
  /// file cannot be opened, a lock) is tried again at the next interval, and
  /// meanwhile the log only grows; SQLite checkpoints it when the last
  /// connection closes.
  WalCheckpointer(std::filesystem::path file, CheckpointPolicy policy, std::mutex* writer = nullptr)
      : file_(std::move(file)), policy_(policy), writer_(writer) {
    thread_ = std::thread([this] { run(); });
  }
  ~WalCheckpointer() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  /// Checkpoint rounds finished so far (failed ones too). Any thread.
  std::uint64_t rounds() const {
    std::lock_guard lock(mutex_);
    return rounds_;
  }
  /// Waits until `count` rounds have finished; false if `timeout` passed
  /// first. Any thread: a test that must know a round ran after its commit.
  bool awaitRounds(std::uint64_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return round_done_.wait_for(lock, timeout, [&] { return rounds_ >= count; });
  }

 private:
  void run() {
    std::unique_ptr<WalCheckpoint> checkpoint;
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, policy_.interval, [&] { return stopping_; })) {
      lock.unlock();
      try {
        if (!checkpoint) checkpoint = std::make_unique<WalCheckpoint>(file_);
        if (checkpoint->pass() > policy_.restart_above_bytes && policy_.restart_above_bytes > 0 && writer_) {
          // Only what was committed during the pass above is left to copy.
          std::lock_guard hold(*writer_);
          checkpoint->pass();
        }
      } catch (const Error&) {
        checkpoint.reset();  // opened again next round
      }
      lock.lock();
      ++rounds_;
      round_done_.notify_all();
    }
  }

  std::filesystem::path file_;
  CheckpointPolicy policy_;
  std::mutex* writer_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  mutable std::condition_variable round_done_;
  bool stopping_ = false;
  std::uint64_t rounds_ = 0;
  std::thread thread_;  // last: started once everything above is initialised
};

}  // namespace eventnode::plugin::sqlite
