#include "ledger_store.hpp"

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Transaction.h>

#include <map>
#include <stdexcept>

using namespace Poco::Data::Keywords;

namespace eventnode::plugins::utxo {

using plugin::Json;

LedgerStore::LedgerStore(const std::filesystem::path& file, bool full_sync) {
  Poco::Data::SQLite::Connector::registerConnector();
  try {
    session_ = std::make_unique<Poco::Data::Session>("SQLite", file.string(), 5);
    auto& s = *session_;
    // SQLite's default page size. 1 KiB pages wrote fewer bytes per commit,
    // but a UTXO row (its state is JSON with a txid in it) is close to what a
    // 1 KiB page keeps inline, so rows spilled into overflow pages; with 4 KiB
    // the 4-node benchmark finalized 995-1,177/s instead of 881-888/s at
    // window 128 (docs/performance.md). Only takes effect on a new file.
    s << "PRAGMA page_size=4096", now;
    // This process is the file's only user: exclusive locking spares the
    // lock calls and shared-memory index a WAL transaction otherwise costs.
    s << "PRAGMA locking_mode=EXCLUSIVE", now;
    s << "PRAGMA journal_mode=WAL", now;
    s << (full_sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"), now;
    s << "CREATE TABLE IF NOT EXISTS utxos (txid TEXT NOT NULL, vout INTEGER NOT NULL, address TEXT NOT NULL,"
         " amount INTEGER NOT NULL, state TEXT NOT NULL, PRIMARY KEY (txid, vout)) WITHOUT ROWID",
        now;
    // A rowid table, not clustered on the txid like the others: its rows carry
    // the transaction's whole JSON, and a clustered (WITHOUT ROWID) row that
    // large spills into overflow pages; here rows are appended in arrival
    // order and the txid index holds only small keys.
    s << "CREATE TABLE IF NOT EXISTS transactions (txid TEXT PRIMARY KEY, body TEXT NOT NULL, status TEXT NOT NULL,"
         " addresses TEXT NOT NULL, received_at INTEGER NOT NULL, decided_at INTEGER NOT NULL,"
         " confirmed_at INTEGER NOT NULL, block_height INTEGER NOT NULL, reason TEXT NOT NULL)",
        now;
    // Votes are only ever added, once each (the ledger counts a voter once):
    // appended in arrival order, a commit writes just the table's last page.
    s << "CREATE TABLE IF NOT EXISTS votes (txid TEXT NOT NULL, voter TEXT NOT NULL, approve INTEGER NOT NULL,"
         " timestamp INTEGER NOT NULL)",
        now;
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("cannot open the UTXO database " + file.string() + ": " + e.displayText());
  }
}

LedgerStore::~LedgerStore() = default;

void LedgerStore::load(Ledger& ledger) {
  auto& s = *session_;
  {
    // Amounts are u64 but SQLite integers are i64: stored as their bit pattern.
    std::vector<std::string> txids, addresses, states;
    std::vector<Poco::Int64> vouts, amounts;
    s << "SELECT txid, vout, address, amount, state FROM utxos", into(txids), into(vouts), into(addresses),
        into(amounts), into(states), now;
    for (std::size_t i = 0; i < txids.size(); ++i) {
      ledger.restoreUtxo({{txids[i], static_cast<std::uint32_t>(vouts[i])},
                          addresses[i],
                          static_cast<std::uint64_t>(amounts[i]),
                          parseUtxoState(Json::parse(states[i]))});
    }
  }
  std::multimap<std::string, Vote> votes;
  {
    std::vector<std::string> txids, voters;
    std::vector<bool> approvals;
    std::vector<Poco::Int64> timestamps;
    s << "SELECT txid, voter, approve, timestamp FROM votes", into(txids), into(voters), into(approvals),
        into(timestamps), now;
    for (std::size_t i = 0; i < txids.size(); ++i) {
      votes.emplace(txids[i], Vote{txids[i], voters[i], approvals[i], timestamps[i]});
    }
  }
  std::vector<std::string> bodies, statuses, address_lists, reasons;
  std::vector<Poco::Int64> received, decided, confirmed, heights;
  s << "SELECT body, status, addresses, received_at, decided_at, confirmed_at, block_height, reason"
       " FROM transactions",
      into(bodies), into(statuses), into(address_lists), into(received), into(decided), into(confirmed),
      into(heights), into(reasons), now;
  const auto& prefix = ledger.config().address_prefix;
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    TxRecord record;
    record.tx = parseTransaction(Json::parse(bodies[i]), prefix);
    record.status = parseStatus(statuses[i]);
    record.addresses = Json::parse(address_lists[i]).get<std::vector<std::string>>();
    const auto [first, last] = votes.equal_range(record.tx.txid);
    for (auto it = first; it != last; ++it) record.votes.emplace(it->second.voter, it->second);
    record.received_at = received[i];
    record.decided_at = decided[i];
    record.confirmed_at = confirmed[i];
    record.block_height = static_cast<std::uint64_t>(heights[i]);
    record.reason = reasons[i];
    ledger.restoreTransaction(std::move(record));
  }
}

void LedgerStore::save(const Ledger& ledger, const Effects& effects) {
  // Each table's rows are bound as columns of vectors: Poco then compiles the
  // statement once and steps it per row, where a statement per row would be
  // parsed again every time.
  std::vector<std::string> utxo_txids, utxo_addresses, utxo_states;
  std::vector<Poco::Int64> utxo_vouts, utxo_amounts;
  for (const auto& outpoint : effects.changed_utxos) {
    const auto* utxo = ledger.utxo(outpoint);
    if (!utxo) continue;
    utxo_txids.push_back(outpoint.txid);
    utxo_vouts.push_back(outpoint.vout);
    utxo_addresses.push_back(utxo->address);
    utxo_amounts.push_back(static_cast<Poco::Int64>(utxo->amount));
    utxo_states.push_back(toJson(utxo->state).dump());
  }
  struct StatusColumns {
    std::vector<std::string> txids, statuses, reasons;
    std::vector<Poco::Int64> received, decided, confirmed, heights;
    void add(const TxRecord& record) {
      txids.push_back(record.tx.txid);
      statuses.emplace_back(statusName(record.status));
      reasons.push_back(record.reason);
      received.push_back(record.received_at);
      decided.push_back(record.decided_at);
      confirmed.push_back(record.confirmed_at);
      heights.push_back(static_cast<Poco::Int64>(record.block_height));
    }
  } inserted, updated;
  std::vector<std::string> bodies, address_lists;
  for (const auto& txid : effects.new_transactions) {
    const auto* record = ledger.transaction(txid);
    if (!record) continue;
    inserted.add(*record);
    bodies.push_back(toJson(record->tx).dump());
    address_lists.push_back(Json(record->addresses).dump());
  }
  for (const auto& txid : effects.changed_transactions) {
    if (effects.new_transactions.contains(txid)) continue;  // written whole just above
    if (const auto* record = ledger.transaction(txid)) updated.add(*record);
  }
  std::vector<std::string> vote_txids, voters;
  std::vector<Poco::Int32> approvals;
  std::vector<Poco::Int64> vote_times;
  for (const auto& vote : effects.new_votes) {
    vote_txids.push_back(vote.txid);
    voters.push_back(vote.voter);
    approvals.push_back(vote.approve ? 1 : 0);
    vote_times.push_back(vote.timestamp);
  }
  if (utxo_txids.empty() && inserted.txids.empty() && updated.txids.empty() && vote_txids.empty()) return;

  auto& s = *session_;
  Poco::Data::Transaction transaction(s);
  if (!utxo_txids.empty()) {
    s << "INSERT OR REPLACE INTO utxos (txid, vout, address, amount, state) VALUES (?, ?, ?, ?, ?)", use(utxo_txids),
        use(utxo_vouts), use(utxo_addresses), use(utxo_amounts), use(utxo_states), now;
  }
  if (!inserted.txids.empty()) {
    s << "INSERT OR REPLACE INTO transactions (txid, body, status, addresses, received_at, decided_at,"
         " confirmed_at, block_height, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        use(inserted.txids), use(bodies), use(inserted.statuses), use(address_lists), use(inserted.received),
        use(inserted.decided), use(inserted.confirmed), use(inserted.heights), use(inserted.reasons), now;
  }
  if (!updated.txids.empty()) {
    s << "UPDATE transactions SET status = ?, decided_at = ?, confirmed_at = ?, block_height = ?, reason = ?"
         " WHERE txid = ?",
        use(updated.statuses), use(updated.decided), use(updated.confirmed), use(updated.heights),
        use(updated.reasons), use(updated.txids), now;
  }
  if (!vote_txids.empty()) {
    s << "INSERT INTO votes (txid, voter, approve, timestamp) VALUES (?, ?, ?, ?)", use(vote_txids),
        use(voters), use(approvals), use(vote_times), now;
  }
  transaction.commit();
}

}  // namespace eventnode::plugins::utxo
