#include "cursor_store.hpp"

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Transaction.h>
#include <Poco/Exception.h>

#include <algorithm>
#include <limits>
#include <stdexcept>

using namespace Poco::Data::Keywords;

namespace eventnode::plugins::solana_listener {
namespace {

constexpr std::size_t kOpenTimeoutSeconds = 2;
constexpr auto kCheckpointEvery = std::chrono::seconds(1);

std::runtime_error storageError(const std::filesystem::path& file, const std::string& what,
                                const Poco::Exception& error) {
  return std::runtime_error("solana_listener cursor store " + file.string() + ": " + what + ": " + error.displayText());
}

}  // namespace

CursorStore::CursorStore(const std::filesystem::path& file) : file_(file) {
  // Poco retries a failed open until its login timeout (60 s by default): refuse a missing folder at once.
  const auto folder = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  std::error_code ec;
  if (!std::filesystem::is_directory(folder, ec)) {
    throw std::runtime_error("solana_listener cursor store " + file.string() + ": folder " + folder.string() +
                             " does not exist; create it or point the data directory elsewhere");
  }
  try {
    Poco::Data::SQLite::Connector::registerConnector();
    session_ = std::make_unique<Poco::Data::Session>("SQLite", file.string(), kOpenTimeoutSeconds);
    std::string mode;
    *session_ << "PRAGMA journal_mode=WAL", into(mode), now;
    *session_ << "PRAGMA synchronous=NORMAL", now;
    // SQLite's own checkpoints run inside the commit that crosses 1,000 log
    // pages, on the listener's worker: a ~10 ms fsync that delayed the live
    // events queued behind it. checkpointLoop runs them on its own connection.
    *session_ << "PRAGMA wal_autocheckpoint=0", now;
    *session_ << "CREATE TABLE IF NOT EXISTS cursors ("
                 "program TEXT PRIMARY KEY, signature TEXT NOT NULL, slot INTEGER NOT NULL, "
                 "updated_at INTEGER NOT NULL DEFAULT (strftime('%s','now')))",
        now;
    // Keyed by signature alone (no rowid table beside it), and indexed for
    // forgetBefore, which runs after every walk while live events keep adding rows.
    *session_ << "CREATE TABLE IF NOT EXISTS published ("
                 "signature TEXT PRIMARY KEY, program TEXT NOT NULL, slot INTEGER NOT NULL) WITHOUT ROWID",
        now;
    *session_ << "CREATE INDEX IF NOT EXISTS published_by_program_slot ON published (program, slot)", now;
  } catch (const Poco::Exception& error) {
    throw storageError(file, "cannot open", error);
  }
  checkpointer_ = std::thread([this] { checkpointLoop(); });
}

CursorStore::~CursorStore() {
  {
    std::lock_guard lock(checkpoint_mutex_);
    stopping_ = true;
  }
  checkpoint_wake_.notify_one();
  if (checkpointer_.joinable()) checkpointer_.join();
}

void CursorStore::checkpointLoop() {
  std::unique_ptr<Poco::Data::Session> session;
  std::unique_lock lock(checkpoint_mutex_);
  while (!checkpoint_wake_.wait_for(lock, kCheckpointEvery, [&] { return stopping_; })) {
    lock.unlock();
    // A failed checkpoint is tried again a second later; meanwhile the log only
    // grows, and SQLite checkpoints it when the last connection closes.
    try {
      if (!session) session = std::make_unique<Poco::Data::Session>("SQLite", file_.string(), kOpenTimeoutSeconds);
      int busy = 0, log_pages = 0, checkpointed = 0;
      *session << "PRAGMA wal_checkpoint(PASSIVE)", into(busy), into(log_pages), into(checkpointed), now;
    } catch (const Poco::Exception&) {
      session.reset();
    }
    lock.lock();
  }
}

std::optional<Cursor> CursorStore::load(const std::string& program) {
  std::lock_guard lock(mutex_);
  try {
    std::string signature;
    Poco::Int64 slot = 0;
    std::string key = program;
    Poco::Data::Statement select(*session_);
    select << "SELECT signature, slot FROM cursors WHERE program = ?", use(key), into(signature), into(slot), limit(1);
    if (select.execute() == 0) return std::nullopt;
    return Cursor{signature, static_cast<std::uint64_t>(slot)};
  } catch (const Poco::Exception& error) {
    throw storageError(file_, "cannot load the cursor of " + program, error);
  }
}

std::map<std::string, Cursor> CursorStore::loadAll() {
  std::lock_guard lock(mutex_);
  try {
    std::vector<std::string> programs;
    std::vector<std::string> signatures;
    std::vector<Poco::Int64> slots;
    *session_ << "SELECT program, signature, slot FROM cursors", into(programs), into(signatures), into(slots), now;
    std::map<std::string, Cursor> out;
    for (std::size_t i = 0; i < programs.size(); ++i) {
      out.emplace(programs[i], Cursor{signatures[i], static_cast<std::uint64_t>(slots[i])});
    }
    return out;
  } catch (const Poco::Exception& error) {
    throw storageError(file_, "cannot load cursors", error);
  }
}

bool CursorStore::advance(const std::string& program, const Cursor& cursor) {
  // SQLite integers are signed 64-bit; slots are far below that, but refuse rather than wrap.
  if (cursor.slot > static_cast<std::uint64_t>(std::numeric_limits<Poco::Int64>::max())) {
    throw std::runtime_error("solana_listener cursor store: slot " + std::to_string(cursor.slot) + " of program " +
                             program + " does not fit a signed 64-bit integer");
  }
  std::lock_guard lock(mutex_);
  try {
    std::string key = program;
    std::string signature = cursor.signature;
    auto slot = static_cast<Poco::Int64>(cursor.slot);
    Poco::Data::Statement upsert(*session_);
    upsert << "INSERT INTO cursors (program, signature, slot, updated_at) VALUES (?, ?, ?, strftime('%s','now')) "
              "ON CONFLICT(program) DO UPDATE SET signature = excluded.signature, slot = excluded.slot, "
              "updated_at = excluded.updated_at WHERE excluded.slot >= cursors.slot",
        use(key), use(signature), use(slot);
    return upsert.execute() > 0;
  } catch (const Poco::Exception& error) {
    throw storageError(file_, "cannot store the cursor of " + program, error);
  }
}

void CursorStore::remember(const std::vector<PublishedSignature>& published) {
  if (published.empty()) return;
  std::vector<std::string> signatures, programs;
  std::vector<Poco::Int64> slots;
  for (const auto& entry : published) {
    signatures.push_back(entry.signature);
    programs.push_back(entry.program);
    slots.push_back(static_cast<Poco::Int64>(std::min<std::uint64_t>(
        entry.slot, static_cast<std::uint64_t>(std::numeric_limits<Poco::Int64>::max()))));
  }
  std::lock_guard lock(mutex_);
  try {
    Poco::Data::Transaction transaction(*session_);
    *session_ << "INSERT OR IGNORE INTO published (signature, program, slot) VALUES (?, ?, ?)", use(signatures),
        use(programs), use(slots), now;
    transaction.commit();
  } catch (const Poco::Exception& error) {
    throw storageError(file_, "cannot remember published signatures", error);
  }
}

void CursorStore::forgetBefore(const std::string& program, std::uint64_t slot) {
  std::lock_guard lock(mutex_);
  try {
    std::string key = program;
    auto before = static_cast<Poco::Int64>(
        std::min<std::uint64_t>(slot, static_cast<std::uint64_t>(std::numeric_limits<Poco::Int64>::max())));
    *session_ << "DELETE FROM published WHERE program = ? AND slot < ?", use(key), use(before), now;
  } catch (const Poco::Exception& error) {
    throw storageError(file_, "cannot forget published signatures of " + program, error);
  }
}

std::vector<std::string> CursorStore::rememberedSignatures() {
  std::lock_guard lock(mutex_);
  try {
    std::vector<std::string> signatures;
    *session_ << "SELECT signature FROM published ORDER BY slot", into(signatures), now;
    return signatures;
  } catch (const Poco::Exception& error) {
    throw storageError(file_, "cannot load published signatures", error);
  }
}

}  // namespace eventnode::plugins::solana_listener
