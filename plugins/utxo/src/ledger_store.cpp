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
    s << "PRAGMA journal_mode=WAL", now;
    s << (full_sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"), now;
    s << "CREATE TABLE IF NOT EXISTS utxos (txid TEXT NOT NULL, vout INTEGER NOT NULL, address TEXT NOT NULL,"
         " amount INTEGER NOT NULL, state TEXT NOT NULL, PRIMARY KEY (txid, vout))",
        now;
    s << "CREATE TABLE IF NOT EXISTS transactions (txid TEXT PRIMARY KEY, body TEXT NOT NULL, status TEXT NOT NULL,"
         " addresses TEXT NOT NULL, received_at INTEGER NOT NULL, decided_at INTEGER NOT NULL,"
         " confirmed_at INTEGER NOT NULL, block_height INTEGER NOT NULL, reason TEXT NOT NULL)",
        now;
    s << "CREATE TABLE IF NOT EXISTS votes (txid TEXT NOT NULL, voter TEXT NOT NULL, approve INTEGER NOT NULL,"
         " timestamp INTEGER NOT NULL, PRIMARY KEY (txid, voter))",
        now;
    prepare();
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("cannot open the UTXO database " + file.string() + ": " + e.displayText());
  }
}

LedgerStore::~LedgerStore() = default;

void LedgerStore::prepare() {
  auto& s = *session_;
  auto& r = row_;
  put_utxo_ = std::make_unique<Poco::Data::Statement>(
      (s << "INSERT OR REPLACE INTO utxos (txid, vout, address, amount, state) VALUES (?, ?, ?, ?, ?)", use(r.txid),
       use(r.vout), use(r.address), use(r.amount), use(r.state)));
  put_transaction_ = std::make_unique<Poco::Data::Statement>(
      (s << "INSERT OR REPLACE INTO transactions (txid, body, status, addresses, received_at, decided_at,"
            " confirmed_at, block_height, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
       use(r.txid), use(r.body), use(r.status), use(r.addresses), use(r.received_at), use(r.decided_at),
       use(r.confirmed_at), use(r.block_height), use(r.reason)));
  update_transaction_ = std::make_unique<Poco::Data::Statement>(
      (s << "UPDATE transactions SET status = ?, decided_at = ?, confirmed_at = ?, block_height = ?, reason = ?"
            " WHERE txid = ?",
       use(r.status), use(r.decided_at), use(r.confirmed_at), use(r.block_height), use(r.reason), use(r.txid)));
  put_vote_ = std::make_unique<Poco::Data::Statement>(
      (s << "INSERT OR REPLACE INTO votes (txid, voter, approve, timestamp) VALUES (?, ?, ?, ?)", use(r.txid),
       use(r.voter), use(r.approve), use(r.timestamp)));
}

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
  if (effects.changed_utxos.empty() && effects.new_transactions.empty() && effects.changed_transactions.empty() &&
      effects.new_votes.empty()) {
    return;
  }
  auto& r = row_;
  Poco::Data::Transaction transaction(*session_);
  for (const auto& outpoint : effects.changed_utxos) {
    const auto* utxo = ledger.utxo(outpoint);
    if (!utxo) continue;
    r.txid = outpoint.txid;
    r.vout = outpoint.vout;
    r.address = utxo->address;
    r.amount = static_cast<Poco::Int64>(utxo->amount);
    r.state = toJson(utxo->state).dump();
    put_utxo_->execute();
  }
  const auto fillStatus = [&r](const TxRecord& record) {
    r.txid = record.tx.txid;
    r.status = std::string(statusName(record.status));
    r.received_at = record.received_at;
    r.decided_at = record.decided_at;
    r.confirmed_at = record.confirmed_at;
    r.block_height = static_cast<Poco::Int64>(record.block_height);
    r.reason = record.reason;
  };
  for (const auto& txid : effects.new_transactions) {
    const auto* record = ledger.transaction(txid);
    if (!record) continue;
    fillStatus(*record);
    r.body = toJson(record->tx).dump();
    r.addresses = Json(record->addresses).dump();
    put_transaction_->execute();
  }
  for (const auto& txid : effects.changed_transactions) {
    if (effects.new_transactions.contains(txid)) continue;  // written whole just above
    const auto* record = ledger.transaction(txid);
    if (!record) continue;
    fillStatus(*record);
    update_transaction_->execute();
  }
  for (const auto& vote : effects.new_votes) {
    r.txid = vote.txid;
    r.voter = vote.voter;
    r.approve = vote.approve;
    r.timestamp = vote.timestamp;
    put_vote_->execute();
  }
  transaction.commit();
}

}  // namespace eventnode::plugins::utxo
