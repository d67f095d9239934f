#pragma once
/// The masternode's view of the UTXO set and of the transactions it is voting
/// on, with the rules of instant finality: locking as the double-spend guard,
/// one vote per masternode, finality at floor(2n/3)+1 approvals, early
/// rejection once the quorum is out of reach, lock timeouts and block
/// confirmation. Pure logic in memory: every command reports what it changed
/// (to persist) and what to tell wallets and peers in an Effects value; the
/// Engine persists those before it sends anything. Not thread-safe: the
/// Engine serializes commands.
#include "transaction.hpp"
#include "utxo_state.hpp"

#include <spdlog/logger.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace eventnode::plugins::utxo {

struct Utxo {
  OutPoint outpoint;
  std::string address;
  std::uint64_t amount = 0;
  UtxoState state;
};

enum class TxStatus { Pending, Finalized, Rejected, Confirmed };
std::string_view statusName(TxStatus status);
/// Throws std::invalid_argument for an unknown name.
TxStatus parseStatus(std::string_view name);

struct TxRecord {
  Transaction tx;
  TxStatus status = TxStatus::Pending;
  std::vector<std::string> addresses;  ///< every input's and output's address, once each
  std::map<std::string, Vote> votes;   ///< by voter
  std::int64_t received_at = 0;
  std::int64_t decided_at = 0;         ///< finalized or rejected
  std::int64_t confirmed_at = 0;
  std::uint64_t block_height = 0;
  std::string reason;                  ///< why it was rejected
  std::uint32_t approvals() const;
  std::uint32_t rejections() const;
};

/// One message for the wallets subscribed to any of `addresses`.
struct WalletMessage {
  std::vector<std::string> addresses;
  std::string text;
};

/// One state change, for peers that subscribed to the outpoint or address.
struct StateChange {
  OutPoint outpoint;
  std::string address;
  std::string notification;  ///< the UTXOStateChange JSON text
};

struct Effects {
  std::set<OutPoint> changed_utxos;
  std::set<std::string> new_transactions;
  std::set<std::string> changed_transactions;  ///< status, decision or confirmation changed
  std::vector<Vote> new_votes;
  std::vector<WalletMessage> wallet;  ///< in the order they happened
  std::vector<StateChange> state_changes;
  std::vector<plugin::Json> to_peers;  ///< P2P messages to broadcast, in order
  bool empty() const {
    return changed_utxos.empty() && new_transactions.empty() && changed_transactions.empty() && new_votes.empty() &&
           wallet.empty() && to_peers.empty();
  }
};

enum class Verdict { Accepted, Duplicate, Invalid, Conflict };
struct Outcome {
  Verdict verdict = Verdict::Accepted;
  std::string message;
};

struct BlockOutcome {
  std::vector<std::string> confirmed;
  std::vector<std::pair<std::string, std::string>> skipped;  ///< txid, reason
};

struct LedgerConfig {
  std::string self_id;
  std::vector<std::string> masternodes;  ///< every configured id, self included
  std::string address_prefix = std::string(kTestnetPrefix);
  std::int64_t lock_timeout_seconds = 60;
  std::size_t max_early_votes = 100000;  ///< votes kept for transactions not seen yet
  /// An input's public_key must own the address of the output it spends
  /// (signature.hpp). The signatures themselves are verified where
  /// transactions are parsed, off the engine's thread (requireValidSignatures).
  bool verify_signatures = true;
};

/// The sum of the Unspent amounts among `utxos`, as an address's balance.
/// Saturates at 2^64-1 rather than wrap (seeded outputs can add up to more);
/// `saturated` then says so and `exact` holds the true sum in decimal.
struct Balance {
  std::uint64_t amount = 0;
  bool saturated = false;
  std::string exact;  ///< decimal; set only when saturated
};
Balance unspentBalance(const std::vector<const Utxo*>& utxos);

class Ledger {
 public:
  Ledger(LedgerConfig config, std::shared_ptr<spdlog::logger> logger);

  /// Restores state the store kept (before any command).
  void restoreUtxo(Utxo utxo);
  void restoreTransaction(TxRecord record);

  /// What submit() would answer now, changing nothing: Duplicate when the
  /// txid is known; Invalid with the reason for an unknown input, a key that
  /// does not own its input, a timestamp outside the lock timeout or outputs
  /// above inputs; Conflict naming the first input that is not Unspent;
  /// Accepted otherwise. Costs a map look-up per input and no signature
  /// check: callers run it (under Engine::read) before they verify signatures,
  /// so a transaction the ledger refuses anyway costs no Ed25519 work.
  Outcome check(const Transaction& tx, std::int64_t now) const;

  /// A transaction from a wallet (`from_peer` false: refused with Conflict if
  /// an input is not Unspent, broadcast to peers when accepted) or from a peer
  /// (recorded and voted on either way: approve when its inputs could be locked, reject otherwise).
  Outcome submit(const Transaction& tx, bool from_peer, std::int64_t now, Effects& effects);
  /// A masternode's vote; votes for a transaction not seen yet are kept until it arrives.
  Outcome vote(const Vote& vote, std::int64_t now, Effects& effects);
  /// Finalized transactions in `txids` become Confirmed at `height`.
  BlockOutcome confirmBlock(std::uint64_t height, const std::vector<std::string>& txids, std::int64_t now,
                            Effects& effects);
  /// Adds Unspent outputs (genesis); all or nothing: Conflict if one exists.
  Outcome seed(const std::vector<Utxo>& utxos, Effects& effects);
  /// Rejects pending transactions lock_timeout or more after their timestamp,
  /// releasing their inputs. The timestamp, not the arrival, is the reference:
  /// every masternode lets go at the same moment.
  void expireLocks(std::int64_t now, Effects& effects);

  /// For a restart: what this masternode may have committed but not yet sent
  /// when it stopped (its P2P queues live in memory). For every pending
  /// transaction whose lock has not timed out, oldest first, its
  /// TransactionBroadcast and this node's own vote on it, if it voted.
  /// Peers take each transaction and vote once, so repeats are harmless.
  std::vector<plugin::Json> pendingAnnouncements(std::int64_t now) const;

  const Utxo* utxo(const OutPoint& outpoint) const;
  std::vector<const Utxo*> utxosOf(const std::string& address) const;
  const TxRecord* transaction(const std::string& txid) const;
  std::size_t utxosCount() const { return utxos_.size(); }
  std::size_t transactionCount() const { return transactions_.size(); }
  std::size_t pendingCount() const { return pending_.size(); }
  std::uint32_t totalNodes() const { return static_cast<std::uint32_t>(config_.masternodes.size()); }
  std::uint32_t quorumSize() const { return quorum(totalNodes()); }
  const LedgerConfig& config() const { return config_; }

 private:
  /// check(), and the inputs' UTXOs when every input exists.
  Outcome examine(const Transaction& tx, std::int64_t now, std::vector<const Utxo*>& inputs) const;
  bool transition(Utxo& utxo, UtxoState to, std::int64_t now, Effects& effects);
  void castOwnVote(TxRecord& record, bool approve, std::int64_t now, Effects& effects);
  void applyEarlyVotes(TxRecord& record, std::int64_t now, Effects& effects);
  void evaluate(TxRecord& record, std::int64_t now, Effects& effects);
  void finalize(TxRecord& record, std::int64_t now, Effects& effects);
  void reject(TxRecord& record, const std::string& reason, std::int64_t now, Effects& effects);
  void tellWallets(const std::vector<std::string>& addresses, const plugin::Json& message, Effects& effects);
  void addUtxo(Utxo utxo);

  LedgerConfig config_;
  std::shared_ptr<spdlog::logger> logger_;
  std::map<OutPoint, Utxo> utxos_;
  std::unordered_map<std::string, std::vector<OutPoint>> by_address_;
  std::unordered_map<std::string, TxRecord> transactions_;
  std::set<std::string> pending_;
  std::unordered_map<std::string, std::vector<Vote>> early_votes_;
  std::size_t early_vote_count_ = 0;
};

}  // namespace eventnode::plugins::utxo
