#pragma once
// The meter plugin's SQLite file: registered meters, every reading (accepted
// or refused), and the minting ledger (batches, the mints they owe, the
// transactions that carry them). Every change that matters for exactly-once
// minting is one SQLite transaction. Thread-safe: one mutex around the connection.
#include <eventnode/plugin/sqlite.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace eventnode::plugins::meter {

struct Meter {
  std::string meter_id;
  std::string owner;       ///< the JWT sub that registered it
  std::string wallet;      ///< base58; tokens go to its associated token account
  std::string public_key;  ///< base58 Ed25519 key, or "" when readings are not signed
  std::int64_t registered_ms = 0;
};

struct NewReading {
  std::string meter_id;
  std::string owner;
  std::string wallet;
  double kwh_amount = 0;
  std::int64_t base_units = 0;
  std::int64_t reading_ms = 0;
  std::int64_t received_ms = 0;
};

/// One mint a batch owes a wallet: the sum of its readings in the batch.
struct MintRow {
  std::int64_t id = 0;
  std::int64_t batch_id = 0;
  std::string owner;
  std::string wallet;
  std::optional<std::string> meter_id;  ///< empty when the mint covers several meters
  std::int64_t base_units = 0;
  std::int64_t readings = 0;
  std::string signature;       ///< of the transaction that carries it, once built
  bool account_known = false;  ///< the wallet's token account exists (a mint to it landed before)
};

struct SentTransaction {
  std::string signature;
  std::string wire_base64;
  std::int64_t last_valid_block_height = 0;
  std::int64_t sent_ms = 0;
};

struct BatchSummary {
  std::int64_t batch_id = 0;
  std::int64_t total_readings = 0;
  std::int64_t successful = 0;  ///< readings whose mint confirmed
  std::int64_t failed = 0;      ///< readings whose mint failed (retried in a later batch, up to the limit)
  std::int64_t abandoned = 0;   ///< of the failed, those past the retry limit
  std::int64_t completed_ms = 0;
};

enum class TransactionOutcome { Landed, Failed, Expired };

class MeterStore {
 public:
  /// Opens (or creates) the file; throws plugin::sqlite::Error naming it.
  explicit MeterStore(const std::filesystem::path& file);
  ~MeterStore();

  // --- meters ---------------------------------------------------------------------------
  /// Registers a meter; false (nothing written) when the id is taken.
  bool registerMeter(const Meter& meter);
  std::optional<Meter> meter(const std::string& meter_id);
  /// Every meter of `owner`, or every meter when owner is empty, by id.
  std::vector<Meter> meters(const std::string& owner);

  // --- readings -------------------------------------------------------------------------
  /// The id of the reading of this meter at this time, if there is one.
  std::optional<std::int64_t> findReading(const std::string& meter_id, std::int64_t reading_ms);
  /// Stores an accepted reading (state pending) and returns its id; when the
  /// meter and time are stored already (a concurrent repeat), returns that
  /// reading's id and `inserted` false.
  std::pair<std::int64_t, bool> insertReading(const NewReading& reading);
  /// Stores a refused submission with its reason.
  void insertRejection(const std::string& submitted_by, const std::string& meter_id, double kwh_amount,
                       const std::string& reading_timestamp, const std::string& reason, std::int64_t received_ms);
  std::int64_t pendingReadings();
  /// Readings by state: pending, batched, minted, abandoned.
  std::map<std::string, std::int64_t> readingCounts();

  // --- minting ----------------------------------------------------------------------------
  /// The open batch, if any (at most one is open at a time).
  std::optional<std::int64_t> openBatch();
  /// Opens a batch of up to `max_readings` pending readings, oldest first,
  /// grouped into one mint per (owner, wallet). nullopt when none is pending.
  std::optional<std::int64_t> createBatch(std::int64_t max_readings, std::int64_t now_ms);
  /// Mints of the batch not carried by a transaction yet.
  std::vector<MintRow> unsentMints(std::int64_t batch_id);
  /// Records a signed transaction before it is sent: it carries `mint_ids`.
  void recordTransaction(std::int64_t batch_id, const SentTransaction& tx, const std::vector<std::int64_t>& mint_ids);
  /// Transactions of the batch sent (or about to be) and not settled.
  std::vector<SentTransaction> unsettledTransactions(std::int64_t batch_id);
  /// Landed: its mints are confirmed. Failed: its mints failed. Expired (its
  /// blockhash passed without it landing): its mints go back to be built anew.
  void settleTransaction(const std::string& signature, TransactionOutcome outcome, std::int64_t now_ms);
  /// When every mint of the batch is confirmed or failed: readings of
  /// confirmed mints become minted, those of failed ones pending again (or
  /// abandoned past `max_attempts`), and the batch completes. nullopt while
  /// some mint is unsettled.
  std::optional<BatchSummary> completeBatch(std::int64_t batch_id, std::int64_t max_attempts, std::int64_t now_ms);
  /// Completed batches whose events have not gone out yet (a crash can come between).
  std::vector<BatchSummary> unannouncedBatches();
  /// The confirmed mints of a batch, for TokensMinted.
  std::vector<MintRow> confirmedMints(std::int64_t batch_id);
  void markAnnounced(std::int64_t batch_id);

 private:
  std::mutex mutex_;
  plugin::sqlite::Database db_;
  std::map<std::string, Meter> meters_;  // every registered meter: read on each reading
  class Statements;
  std::unique_ptr<Statements> statements_;
};

}  // namespace eventnode::plugins::meter
