#pragma once
// Per program, the newest transaction this node has published: the point a
// backfill after a restart or a reconnect starts from. One SQLite file (WAL).
#include <eventnode/plugin/sqlite.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace eventnode::plugins::solana_listener {

struct Cursor {
  std::string signature;
  std::uint64_t slot = 0;

  bool operator==(const Cursor&) const = default;
};

struct PublishedSignature {
  std::string program;
  std::string signature;
  std::uint64_t slot = 0;
};

class CursorStore {
 public:
  /// Opens (creating) the database file and its table. Throws std::runtime_error naming the file.
  /// A thread of its own checkpoints the write-ahead log every second.
  explicit CursorStore(const std::filesystem::path& file);
  ~CursorStore();  ///< stops the checkpoint thread
  CursorStore(const CursorStore&) = delete;
  CursorStore& operator=(const CursorStore&) = delete;

  /// The stored cursor of `program`, if any.
  std::optional<Cursor> load(const std::string& program);
  /// Every stored cursor, by program.
  std::map<std::string, Cursor> loadAll();

  /// Stores `cursor` for `program` unless the stored one has a higher slot
  /// (an equal slot replaces it: within a slot, the caller publishes in order).
  /// Returns whether it was stored. Thread-safe; throws std::runtime_error on a storage error.
  bool advance(const std::string& program, const Cursor& cursor);

  /// Remembers signatures published ahead of their program's cursor (live
  /// ones), so a restart does not publish them again. One transaction.
  void remember(const std::vector<PublishedSignature>& published);
  /// Forgets the remembered signatures of `program` below `slot`: the cursor covers them now.
  void forgetBefore(const std::string& program, std::uint64_t slot);
  /// Every remembered signature, oldest slot first.
  std::vector<std::string> rememberedSignatures();

 private:
  class Statements;

  std::mutex mutex_;
  std::unique_ptr<plugin::sqlite::Database> db_;
  std::unique_ptr<Statements> statements_;  // on db_'s connection
  /// SQLite's own checkpoints run inside the commit that crosses 1,000 log
  /// pages, on the listener's worker: a ~10 ms fsync that delayed the live
  /// events queued behind it. This runs them on a connection of its own.
  /// Declared last: stopped first.
  std::unique_ptr<plugin::sqlite::WalCheckpointer> checkpointer_;
};

}  // namespace eventnode::plugins::solana_listener
