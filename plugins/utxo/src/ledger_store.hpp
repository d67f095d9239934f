#pragma once
/// The ledger's durable copy: UTXOs with their states, transactions with
/// their status and txid→addresses index, and votes, in one SQLite file (WAL).
/// The Engine saves each batch of commands in one transaction before it
/// tells anyone about them, and loads everything back at start.
/// Not thread-safe: the Engine's thread is its only user.
#include "ledger.hpp"

#include <eventnode/plugin/sqlite/database.hpp>

#include <filesystem>
#include <memory>

namespace eventnode::plugins::utxo {

class LedgerStore {
 public:
  /// Opens or creates the file. `full_sync` also survives power loss
  /// (synchronous=FULL); without it a committed batch survives a killed
  /// process but not a power cut. Throws std::runtime_error naming the file.
  LedgerStore(const std::filesystem::path& file, bool full_sync);
  ~LedgerStore();

  /// Restores every UTXO, transaction and vote into `ledger`.
  void load(Ledger& ledger);
  /// Writes what `effects` names, as `ledger` has it now, in one transaction.
  void save(const Ledger& ledger, const Effects& effects);

 private:
  class Statements;
  std::unique_ptr<plugin::sqlite::Database> db_;
  std::unique_ptr<Statements> statements_;  // on db_'s connection; finalized first
};

}  // namespace eventnode::plugins::utxo
