#include "ledger_store.hpp"

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Statement.h>
#include <Poco/Data/Transaction.h>

#include <stdexcept>

using namespace Poco::Data::Keywords;

namespace eventnode::plugins::utxo {
namespace {

using plugin::Json;

Json votesJson(const TxRecord& record) {
  auto votes = Json::array();
  for (const auto& [voter, vote] : record.votes) votes.push_back(toJson(vote));
  return votes;
}

}  // namespace

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
         " addresses TEXT NOT NULL, votes TEXT NOT NULL, received_at INTEGER NOT NULL, decided_at INTEGER NOT NULL,"
         " confirmed_at INTEGER NOT NULL, block_height INTEGER NOT NULL, reason TEXT NOT NULL)",
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
  std::vector<std::string> bodies, statuses, address_lists, vote_lists, reasons;
  std::vector<Poco::Int64> received, decided, confirmed, heights;
  s << "SELECT body, status, addresses, votes, received_at, decided_at, confirmed_at, block_height, reason"
       " FROM transactions",
      into(bodies), into(statuses), into(address_lists), into(vote_lists), into(received), into(decided),
      into(confirmed), into(heights), into(reasons), now;
  const auto& prefix = ledger.config().address_prefix;
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    TxRecord record;
    record.tx = parseTransaction(Json::parse(bodies[i]), prefix);
    record.status = parseStatus(statuses[i]);
    record.addresses = Json::parse(address_lists[i]).get<std::vector<std::string>>();
    for (const auto& vote : Json::parse(vote_lists[i])) {
      auto parsed = parseVote(vote);
      record.votes.emplace(parsed.voter, parsed);
    }
    record.received_at = received[i];
    record.decided_at = decided[i];
    record.confirmed_at = confirmed[i];
    record.block_height = static_cast<std::uint64_t>(heights[i]);
    record.reason = reasons[i];
    ledger.restoreTransaction(std::move(record));
  }
}

void LedgerStore::save(const Ledger& ledger, const Effects& effects) {
  if (effects.changed_utxos.empty() && effects.changed_transactions.empty()) return;
  auto& s = *session_;
  Poco::Data::Transaction transaction(s);
  for (const auto& outpoint : effects.changed_utxos) {
    const auto* utxo = ledger.utxo(outpoint);
    if (!utxo) continue;
    std::string txid = outpoint.txid;
    Poco::Int64 vout = outpoint.vout;
    std::string address = utxo->address;
    auto amount = static_cast<Poco::Int64>(utxo->amount);
    std::string state = toJson(utxo->state).dump();
    s << "INSERT OR REPLACE INTO utxos (txid, vout, address, amount, state) VALUES (?, ?, ?, ?, ?)", use(txid),
        use(vout), use(address), use(amount), use(state), now;
  }
  for (const auto& id : effects.changed_transactions) {
    const auto* record = ledger.transaction(id);
    if (!record) continue;
    std::string txid = id;
    std::string body = toJson(record->tx).dump();
    std::string status(statusName(record->status));
    std::string addresses = Json(record->addresses).dump();
    std::string votes = votesJson(*record).dump();
    Poco::Int64 received = record->received_at, decided = record->decided_at, confirmed = record->confirmed_at;
    auto height = static_cast<Poco::Int64>(record->block_height);
    std::string reason = record->reason;
    s << "INSERT OR REPLACE INTO transactions (txid, body, status, addresses, votes, received_at, decided_at,"
         " confirmed_at, block_height, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        use(txid), use(body), use(status), use(addresses), use(votes), use(received), use(decided), use(confirmed),
        use(height), use(reason), now;
  }
  transaction.commit();
}

}  // namespace eventnode::plugins::utxo
