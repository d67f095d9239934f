#pragma once
/// The ledger's durable copy: UTXOs with their states, transactions with
/// their status and txid→addresses index, and votes, in one SQLite file (WAL).
/// The Engine saves each batch of commands in one transaction before it
/// tells anyone about them, and loads everything back at start.
/// Not thread-safe: the Engine's thread is its only user.
#include "ledger.hpp"

#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>

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
  void prepare();

  std::unique_ptr<Poco::Data::Session> session_;
  // Prepared once and run for every row: the statements read these fields.
  struct Row {
    std::string txid, address, state, body, status, addresses, reason, voter;
    Poco::Int64 vout = 0, amount = 0, received_at = 0, decided_at = 0, confirmed_at = 0, block_height = 0,
                timestamp = 0;
    bool approve = false;
  } row_;
  std::unique_ptr<Poco::Data::Statement> put_utxo_, put_transaction_, update_transaction_, put_vote_;
};

}  // namespace eventnode::plugins::utxo
