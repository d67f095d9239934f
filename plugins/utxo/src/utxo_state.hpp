#pragma once
/// The state of one UTXO and the machine its transitions follow:
///   Unspent → Locked → SpentPending → SpentFinalized → Confirmed,
///   and Locked or SpentPending → Unspent when the spending transaction is
///   rejected or its lock times out. Every other transition is refused.
/// The JSON form is tagged by variant name: "Unspent" or {"Locked":{…}}.
#include <eventnode/plugin/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace eventnode::plugins::utxo {

enum class StateKind { Unspent, Locked, SpentPending, SpentFinalized, Confirmed };

struct UtxoState {
  StateKind kind = StateKind::Unspent;
  std::string txid;                 ///< the spending transaction (all but Unspent)
  std::int64_t at = 0;              ///< locked_at, spent_at, finalized_at or confirmed_at (Unix seconds)
  std::uint32_t votes = 0;          ///< SpentPending, SpentFinalized
  std::uint32_t total_nodes = 0;    ///< SpentPending
  std::uint64_t block_height = 0;   ///< Confirmed
  bool operator==(const UtxoState&) const = default;

  static UtxoState unspent() { return {}; }
  static UtxoState locked(std::string txid, std::int64_t at);
  static UtxoState spentPending(std::string txid, std::uint32_t votes, std::uint32_t total_nodes, std::int64_t at);
  static UtxoState spentFinalized(std::string txid, std::int64_t at, std::uint32_t votes);
  static UtxoState confirmed(std::string txid, std::uint64_t block_height, std::int64_t at);
};

std::string_view kindName(StateKind kind);
plugin::Json toJson(const UtxoState& state);
/// Reads the JSON form back (the store keeps it); throws std::invalid_argument.
UtxoState parseUtxoState(const plugin::Json& json);

/// Why `from → to` is not allowed, or nullopt when it is. A transition that
/// moves a spend forward must keep the spending txid.
std::optional<std::string> transitionError(const UtxoState& from, const UtxoState& to);

/// Approvals needed out of n masternodes: floor(2n/3) + 1.
constexpr std::uint32_t quorum(std::uint32_t n) { return 2 * n / 3 + 1; }
/// Whether a transaction with `rejections` of n votes against it can still
/// reach the quorum: everyone who has not rejected it would have to approve.
constexpr bool canReachQuorum(std::uint32_t rejections, std::uint32_t n) {
  return rejections <= n && n - rejections >= quorum(n);
}

}  // namespace eventnode::plugins::utxo
