#include "ledger.hpp"

#include "signature.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <tuple>

namespace eventnode::plugins::utxo {

using plugin::Json;

std::string_view statusName(TxStatus status) {
  switch (status) {
    case TxStatus::Pending: return "pending";
    case TxStatus::Finalized: return "finalized";
    case TxStatus::Rejected: return "rejected";
    case TxStatus::Confirmed: return "confirmed";
  }
  return "unknown";
}

TxStatus parseStatus(std::string_view name) {
  for (const auto status : {TxStatus::Pending, TxStatus::Finalized, TxStatus::Rejected, TxStatus::Confirmed}) {
    if (statusName(status) == name) return status;
  }
  throw std::invalid_argument("unknown transaction status " + std::string(name));
}

std::uint32_t TxRecord::approvals() const {
  return static_cast<std::uint32_t>(std::count_if(votes.begin(), votes.end(), [](auto& v) { return v.second.approve; }));
}

std::uint32_t TxRecord::rejections() const { return static_cast<std::uint32_t>(votes.size()) - approvals(); }

Ledger::Ledger(LedgerConfig config, std::shared_ptr<spdlog::logger> logger)
    : config_(std::move(config)), logger_(std::move(logger)) {
  if (std::find(config_.masternodes.begin(), config_.masternodes.end(), config_.self_id) == config_.masternodes.end()) {
    throw std::invalid_argument("masternode_id " + config_.self_id + " is not in the masternodes list");
  }
}

void Ledger::addUtxo(Utxo utxo) {
  by_address_[utxo.address].push_back(utxo.outpoint);
  auto outpoint = utxo.outpoint;
  utxos_.emplace(std::move(outpoint), std::move(utxo));
}

void Ledger::restoreUtxo(Utxo utxo) { addUtxo(std::move(utxo)); }

void Ledger::restoreTransaction(TxRecord record) {
  if (record.status == TxStatus::Pending) pending_.insert(record.tx.txid);
  auto txid = record.tx.txid;
  transactions_.emplace(std::move(txid), std::move(record));
}

std::vector<Json> Ledger::pendingAnnouncements(std::int64_t now) const {
  std::vector<const TxRecord*> records;
  for (const auto& txid : pending_) {
    const auto& record = transactions_.at(txid);
    if (now - record.tx.timestamp < config_.lock_timeout_seconds) records.push_back(&record);
  }
  std::sort(records.begin(), records.end(), [](const TxRecord* a, const TxRecord* b) {
    return std::tie(a->received_at, a->tx.txid) < std::tie(b->received_at, b->tx.txid);
  });
  std::vector<Json> messages;
  for (const auto* record : records) {
    messages.push_back(Json{{"TransactionBroadcast", toJson(record->tx)}});
    if (auto own = record->votes.find(config_.self_id); own != record->votes.end()) {
      messages.push_back(Json{{"InstantFinalityVote", toJson(own->second)}});
    }
  }
  return messages;
}

void Ledger::tellWallets(const std::vector<std::string>& addresses, const Json& message, Effects& effects) {
  effects.wallet.push_back({addresses, message.dump()});
}

bool Ledger::transition(Utxo& utxo, UtxoState to, std::int64_t now, Effects& effects) {
  if (auto error = transitionError(utxo.state, to)) {
    logger_->warn("refused transition outpoint={} reason=\"{}\"", utxo.outpoint.key(), *error);
    return false;
  }
  Json change{{"type", "UTXOStateChange"},
              {"outpoint", toJson(utxo.outpoint)},
              {"old_state", toJson(utxo.state)},
              {"new_state", toJson(to)},
              {"address", utxo.address},
              {"amount", utxo.amount},
              {"timestamp", now}};
  utxo.state = std::move(to);
  effects.changed_utxos.insert(utxo.outpoint);
  auto text = change.dump();
  effects.state_changes.push_back({utxo.outpoint, utxo.address, text});
  effects.wallet.push_back({{utxo.address}, std::move(text)});
  return true;
}

Balance unspentBalance(const std::vector<const Utxo*>& utxos) {
  // GCC's and Clang's 128-bit integer: n outputs of up to 2^64-1 each need 64 + log2(n) bits.
  __extension__ using Wide = unsigned __int128;
  Wide total = 0;
  for (const auto* utxo : utxos) {
    if (utxo->state.kind == StateKind::Unspent) total += utxo->amount;
  }
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  if (total <= kMax) return {static_cast<std::uint64_t>(total), false, {}};
  std::string digits;
  for (auto rest = total; rest > 0; rest /= 10) digits.insert(digits.begin(), static_cast<char>('0' + rest % 10));
  return {kMax, true, std::move(digits)};
}

Outcome Ledger::check(const Transaction& tx, std::int64_t now) const {
  std::vector<const Utxo*> inputs;
  return examine(tx, now, inputs);
}

Outcome Ledger::examine(const Transaction& tx, std::int64_t now, std::vector<const Utxo*>& inputs) const {
  if (auto it = transactions_.find(tx.txid); it != transactions_.end()) {
    return {Verdict::Duplicate, "transaction " + tx.txid + " is already " + std::string(statusName(it->second.status))};
  }
  // Saturating: outputs cannot add up to more than 2^64-1 (parseTransaction checks).
  std::uint64_t input_total = 0;
  inputs.clear();
  std::string problem;
  for (std::size_t i = 0; i < tx.inputs.size() && problem.empty(); ++i) {
    auto it = utxos_.find(tx.inputs[i].previous_output);
    if (it == utxos_.end()) {
      problem = "input " + std::to_string(i) + " spends " + tx.inputs[i].previous_output.key() + ", which does not exist";
    } else if (config_.verify_signatures &&
               addressOfKey(tx.inputs[i].public_key, config_.address_prefix) != it->second.address) {
      problem = "input " + std::to_string(i) + " spends an output paid to " + it->second.address +
                ", but its public_key owns " + addressOfKey(tx.inputs[i].public_key, config_.address_prefix);
    } else {
      inputs.push_back(&it->second);
      const auto sum = input_total + it->second.amount;
      input_total = sum < input_total ? std::numeric_limits<std::uint64_t>::max() : sum;
    }
  }
  // Every masternode lets go of a transaction lock_timeout after its
  // timestamp, and none locks for it after that, so a broadcast that reaches
  // a peer late (queued while it was down) cannot bring it back.
  const auto age = now - tx.timestamp;
  if (age >= config_.lock_timeout_seconds || -age > config_.lock_timeout_seconds) {
    problem = "timestamp " + std::to_string(tx.timestamp) + " is " + std::to_string(age < 0 ? -age : age) +
              " s from this masternode's clock; it must be less than lock_timeout_seconds (" +
              std::to_string(config_.lock_timeout_seconds) + ") ago and not further ahead";
  }
  if (problem.empty() && tx.outputTotal() > input_total) {
    problem = "outputs total " + std::to_string(tx.outputTotal()) + " but inputs only " + std::to_string(input_total);
  }
  if (!problem.empty()) return {Verdict::Invalid, problem};
  for (const auto* input : inputs) {
    if (input->state.kind != StateKind::Unspent) {
      return {Verdict::Conflict, "input " + input->outpoint.key() + " is " + std::string(kindName(input->state.kind)) +
                                     " by transaction " + input->state.txid};
    }
  }
  return {Verdict::Accepted, {}};
}

Outcome Ledger::submit(const Transaction& tx, bool from_peer, std::int64_t now, Effects& effects) {
  std::vector<const Utxo*> found;
  auto checked = examine(tx, now, found);
  if (checked.verdict == Verdict::Duplicate) return checked;
  // Unknown inputs or overspending make the transaction invalid everywhere:
  // refuse it, and as a peer say so with a reject vote (nothing to record).
  if (checked.verdict == Verdict::Invalid) {
    if (from_peer) {
      Vote vote{tx.txid, config_.self_id, false, now};
      effects.to_peers.push_back(Json{{"InstantFinalityVote", toJson(vote)}});
    }
    return checked;
  }
  const std::string busy = checked.verdict == Verdict::Conflict ? checked.message : std::string();
  if (!busy.empty() && !from_peer) return checked;
  // examine() only reads; these UTXOs are the ledger's own, to change here.
  std::vector<Utxo*> inputs;
  inputs.reserve(found.size());
  for (const auto* input : found) inputs.push_back(&utxos_.at(input->outpoint));

  TxRecord record;
  record.tx = tx;
  record.received_at = now;
  for (const auto* input : inputs) {
    if (std::find(record.addresses.begin(), record.addresses.end(), input->address) == record.addresses.end()) {
      record.addresses.push_back(input->address);
    }
  }
  auto outputs = Json::array();
  for (std::size_t i = 0; i < tx.outputs.size(); ++i) {
    const auto& output = tx.outputs[i];
    if (std::find(record.addresses.begin(), record.addresses.end(), output.address) == record.addresses.end()) {
      record.addresses.push_back(output.address);
    }
    outputs.push_back(Json{{"address", output.address}, {"amount", output.amount}, {"vout", i}});
  }
  auto input_points = Json::array();
  for (const auto& input : tx.inputs) input_points.push_back(toJson(input.previous_output));
  auto& stored = transactions_.emplace(tx.txid, std::move(record)).first->second;
  pending_.insert(tx.txid);
  effects.new_transactions.insert(tx.txid);
  tellWallets(stored.addresses,
              Json{{"type", "NewTransaction"},
                   {"txid", tx.txid},
                   {"inputs", std::move(input_points)},
                   {"outputs", std::move(outputs)},
                   {"timestamp", tx.timestamp},
                   {"block_height", nullptr}},
              effects);

  if (!busy.empty()) {
    logger_->debug("voting reject txid={} reason=\"{}\"", tx.txid, busy);
    castOwnVote(stored, false, now, effects);
  } else {
    for (auto* input : inputs) transition(*input, UtxoState::locked(tx.txid, now), now, effects);
    if (!from_peer) effects.to_peers.push_back(Json{{"TransactionBroadcast", toJson(tx)}});
    castOwnVote(stored, true, now, effects);
    for (auto* input : inputs) {
      transition(*input, UtxoState::spentPending(tx.txid, stored.approvals(), totalNodes(), now), now, effects);
    }
  }
  applyEarlyVotes(stored, now, effects);
  evaluate(stored, now, effects);
  return {Verdict::Accepted, busy};
}

void Ledger::castOwnVote(TxRecord& record, bool approve, std::int64_t now, Effects& effects) {
  Vote vote{record.tx.txid, config_.self_id, approve, now};
  record.votes[vote.voter] = vote;
  effects.new_votes.push_back(vote);
  effects.to_peers.push_back(Json{{"InstantFinalityVote", toJson(vote)}});
}

void Ledger::applyEarlyVotes(TxRecord& record, std::int64_t now, Effects& effects) {
  auto it = early_votes_.find(record.tx.txid);
  if (it == early_votes_.end()) return;
  auto votes = std::move(it->second);
  early_votes_.erase(it);
  early_vote_count_ -= votes.size();
  for (const auto& vote : votes) {
    if (record.votes.emplace(vote.voter, vote).second) effects.new_votes.push_back(vote);
  }
  (void)now;
}

Outcome Ledger::vote(const Vote& vote, std::int64_t now, Effects& effects) {
  if (std::find(config_.masternodes.begin(), config_.masternodes.end(), vote.voter) == config_.masternodes.end()) {
    return {Verdict::Invalid, "voter " + vote.voter + " is not a configured masternode"};
  }
  auto it = transactions_.find(vote.txid);
  if (it == transactions_.end()) {
    // Votes can overtake the transaction: they come from other peers' links.
    if (early_vote_count_ >= config_.max_early_votes) {
      return {Verdict::Conflict, "too many votes for unknown transactions are waiting"};
    }
    auto& waiting = early_votes_[vote.txid];
    for (const auto& earlier : waiting) {
      if (earlier.voter == vote.voter) return {Verdict::Duplicate, "vote already received"};
    }
    waiting.push_back(vote);
    ++early_vote_count_;
    return {Verdict::Accepted, "transaction not seen yet; the vote is kept until it arrives"};
  }
  auto& record = it->second;
  if (auto existing = record.votes.find(vote.voter); existing != record.votes.end()) {
    if (existing->second.approve == vote.approve) return {Verdict::Duplicate, "vote already counted"};
    return {Verdict::Conflict, "voter " + vote.voter + " already voted " +
                                   (existing->second.approve ? "approve" : "reject") + " on " + vote.txid};
  }
  record.votes.emplace(vote.voter, vote);
  effects.new_votes.push_back(vote);
  evaluate(record, now, effects);
  return {Verdict::Accepted, {}};
}

void Ledger::evaluate(TxRecord& record, std::int64_t now, Effects& effects) {
  const bool open = record.status == TxStatus::Pending || record.status == TxStatus::Rejected;
  if (open && record.approvals() >= quorumSize()) {
    finalize(record, now, effects);
  } else if (record.status == TxStatus::Pending && !canReachQuorum(record.rejections(), totalNodes())) {
    reject(record,
           "rejected by " + std::to_string(record.rejections()) + " of " + std::to_string(totalNodes()) + " masternodes",
           now, effects);
  }
}

void Ledger::finalize(TxRecord& record, std::int64_t now, Effects& effects) {
  const auto& txid = record.tx.txid;
  // The quorum has spoken for this transaction. A conflicting transaction
  // holding one of its inputs here lost: reject it first. An input already
  // spent by another finalized transaction means the quorum was broken.
  for (const auto& input : record.tx.inputs) {
    auto it = utxos_.find(input.previous_output);
    if (it == utxos_.end()) {
      logger_->error("cannot finalize txid={}: input {} is unknown here", txid, input.previous_output.key());
      return;
    }
    const auto& state = it->second.state;
    if ((state.kind == StateKind::SpentFinalized || state.kind == StateKind::Confirmed) && state.txid != txid) {
      logger_->error("refusing a second finalized spend txid={} outpoint={} spent_by={}", txid,
                     input.previous_output.key(), state.txid);
      return;
    }
  }
  for (const auto& input : record.tx.inputs) {
    auto& utxo = utxos_.at(input.previous_output);
    if (utxo.state.kind != StateKind::Unspent && utxo.state.txid != txid) {
      auto loser = transactions_.find(utxo.state.txid);
      if (loser != transactions_.end()) reject(loser->second, "conflicts with finalized transaction " + txid, now, effects);
    }
  }
  const auto approvals = record.approvals();
  for (const auto& input : record.tx.inputs) {
    auto& utxo = utxos_.at(input.previous_output);
    if (utxo.state.kind == StateKind::Unspent) transition(utxo, UtxoState::locked(txid, now), now, effects);
    if (utxo.state.kind == StateKind::Locked) {
      transition(utxo, UtxoState::spentPending(txid, approvals, totalNodes(), now), now, effects);
    }
    transition(utxo, UtxoState::spentFinalized(txid, now, approvals), now, effects);
  }
  for (std::size_t i = 0; i < record.tx.outputs.size(); ++i) {
    OutPoint outpoint{txid, static_cast<std::uint32_t>(i)};
    if (utxos_.contains(outpoint)) continue;
    addUtxo({outpoint, record.tx.outputs[i].address, record.tx.outputs[i].amount, UtxoState::unspent()});
    effects.changed_utxos.insert(outpoint);
  }
  record.status = TxStatus::Finalized;
  record.decided_at = now;
  record.reason.clear();
  pending_.erase(txid);
  effects.changed_transactions.insert(txid);
  tellWallets(record.addresses,
              Json{{"type", "TransactionFinalized"},
                   {"txid", txid},
                   {"votes", approvals},
                   {"total_nodes", totalNodes()},
                   {"finalized_at", now}},
              effects);
  logger_->debug("finalized txid={} votes={}/{}", txid, approvals, totalNodes());
}

void Ledger::reject(TxRecord& record, const std::string& reason, std::int64_t now, Effects& effects) {
  const auto& txid = record.tx.txid;
  for (const auto& input : record.tx.inputs) {
    auto it = utxos_.find(input.previous_output);
    if (it == utxos_.end()) continue;
    auto& utxo = it->second;
    const bool held = utxo.state.kind == StateKind::Locked || utxo.state.kind == StateKind::SpentPending;
    if (held && utxo.state.txid == txid) transition(utxo, UtxoState::unspent(), now, effects);
  }
  record.status = TxStatus::Rejected;
  record.decided_at = now;
  record.reason = reason;
  pending_.erase(txid);
  effects.changed_transactions.insert(txid);
  logger_->debug("rejected txid={} reason=\"{}\"", txid, reason);
}

void Ledger::expireLocks(std::int64_t now, Effects& effects) {
  std::vector<std::string> expired;
  for (const auto& txid : pending_) {
    if (transactions_.at(txid).tx.timestamp + config_.lock_timeout_seconds <= now) expired.push_back(txid);
  }
  for (const auto& txid : expired) {
    reject(transactions_.at(txid),
           "no quorum within the lock timeout of " + std::to_string(config_.lock_timeout_seconds) + " s", now, effects);
    logger_->info("lock timed out txid={}", txid);
  }
}

BlockOutcome Ledger::confirmBlock(std::uint64_t height, const std::vector<std::string>& txids, std::int64_t now,
                                  Effects& effects) {
  BlockOutcome outcome;
  for (const auto& txid : txids) {
    auto it = transactions_.find(txid);
    if (it == transactions_.end()) {
      outcome.skipped.emplace_back(txid, "unknown transaction");
      continue;
    }
    auto& record = it->second;
    if (record.status != TxStatus::Finalized) {
      outcome.skipped.emplace_back(txid, "transaction is " + std::string(statusName(record.status)) + ", not finalized");
      continue;
    }
    for (const auto& input : record.tx.inputs) {
      transition(utxos_.at(input.previous_output), UtxoState::confirmed(txid, height, now), now, effects);
    }
    record.status = TxStatus::Confirmed;
    record.block_height = height;
    record.confirmed_at = now;
    effects.changed_transactions.insert(txid);
    tellWallets(record.addresses,
                Json{{"type", "TransactionConfirmed"}, {"txid", txid}, {"block_height", height}, {"confirmed_at", now}},
                effects);
    outcome.confirmed.push_back(txid);
  }
  return outcome;
}

Outcome Ledger::seed(const std::vector<Utxo>& utxos, Effects& effects) {
  std::set<OutPoint> seen;
  for (const auto& utxo : utxos) {
    if (utxos_.contains(utxo.outpoint) || !seen.insert(utxo.outpoint).second) {
      return {Verdict::Conflict, "outpoint " + utxo.outpoint.key() + " already exists"};
    }
  }
  for (const auto& utxo : utxos) {
    addUtxo(utxo);
    effects.changed_utxos.insert(utxo.outpoint);
  }
  return {Verdict::Accepted, {}};
}

const Utxo* Ledger::utxo(const OutPoint& outpoint) const {
  auto it = utxos_.find(outpoint);
  return it == utxos_.end() ? nullptr : &it->second;
}

std::vector<const Utxo*> Ledger::utxosOf(const std::string& address) const {
  std::vector<const Utxo*> found;
  if (auto it = by_address_.find(address); it != by_address_.end()) {
    for (const auto& outpoint : it->second) found.push_back(&utxos_.at(outpoint));
  }
  return found;
}

const TxRecord* Ledger::transaction(const std::string& txid) const {
  auto it = transactions_.find(txid);
  return it == transactions_.end() ? nullptr : &it->second;
}

}  // namespace eventnode::plugins::utxo
