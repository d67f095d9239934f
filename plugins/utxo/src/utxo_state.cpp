#include "utxo_state.hpp"

#include <stdexcept>

namespace eventnode::plugins::utxo {

using plugin::Json;

UtxoState UtxoState::locked(std::string txid, std::int64_t at) {
  return {.kind = StateKind::Locked, .txid = std::move(txid), .at = at};
}

UtxoState UtxoState::spentPending(std::string txid, std::uint32_t votes, std::uint32_t total_nodes, std::int64_t at) {
  return {.kind = StateKind::SpentPending, .txid = std::move(txid), .at = at, .votes = votes, .total_nodes = total_nodes};
}

UtxoState UtxoState::spentFinalized(std::string txid, std::int64_t at, std::uint32_t votes) {
  return {.kind = StateKind::SpentFinalized, .txid = std::move(txid), .at = at, .votes = votes};
}

UtxoState UtxoState::confirmed(std::string txid, std::uint64_t block_height, std::int64_t at) {
  return {.kind = StateKind::Confirmed, .txid = std::move(txid), .at = at, .block_height = block_height};
}

std::string_view kindName(StateKind kind) {
  switch (kind) {
    case StateKind::Unspent: return "Unspent";
    case StateKind::Locked: return "Locked";
    case StateKind::SpentPending: return "SpentPending";
    case StateKind::SpentFinalized: return "SpentFinalized";
    case StateKind::Confirmed: return "Confirmed";
  }
  return "Unknown";
}

Json toJson(const UtxoState& state) {
  switch (state.kind) {
    case StateKind::Unspent: return "Unspent";
    case StateKind::Locked: return Json{{"Locked", {{"txid", state.txid}, {"locked_at", state.at}}}};
    case StateKind::SpentPending:
      return Json{{"SpentPending",
                   {{"txid", state.txid},
                    {"votes", state.votes},
                    {"total_nodes", state.total_nodes},
                    {"spent_at", state.at}}}};
    case StateKind::SpentFinalized:
      return Json{{"SpentFinalized", {{"txid", state.txid}, {"finalized_at", state.at}, {"votes", state.votes}}}};
    case StateKind::Confirmed:
      return Json{{"Confirmed",
                   {{"txid", state.txid}, {"block_height", state.block_height}, {"confirmed_at", state.at}}}};
  }
  return nullptr;
}

UtxoState parseUtxoState(const Json& json) {
  if (json == "Unspent") return UtxoState::unspent();
  if (!json.is_object() || json.size() != 1) throw std::invalid_argument("not a UTXO state: " + json.dump());
  const auto& name = json.begin().key();
  const auto& body = json.begin().value();
  const auto txid = body.at("txid").get<std::string>();
  if (name == "Locked") return UtxoState::locked(txid, body.at("locked_at").get<std::int64_t>());
  if (name == "SpentPending") {
    return UtxoState::spentPending(txid, body.at("votes").get<std::uint32_t>(),
                                   body.at("total_nodes").get<std::uint32_t>(), body.at("spent_at").get<std::int64_t>());
  }
  if (name == "SpentFinalized") {
    return UtxoState::spentFinalized(txid, body.at("finalized_at").get<std::int64_t>(),
                                     body.at("votes").get<std::uint32_t>());
  }
  if (name == "Confirmed") {
    return UtxoState::confirmed(txid, body.at("block_height").get<std::uint64_t>(),
                                body.at("confirmed_at").get<std::int64_t>());
  }
  throw std::invalid_argument("not a UTXO state: " + json.dump());
}

std::optional<std::string> transitionError(const UtxoState& from, const UtxoState& to) {
  const auto refused = [&](const char* why) {
    return std::string(kindName(from.kind)) + " -> " + std::string(kindName(to.kind)) + " is not allowed: " + why;
  };
  using enum StateKind;
  switch (from.kind) {
    case Unspent:
      if (to.kind == Locked) return std::nullopt;
      return refused("an unspent output must be locked first");
    case Locked:
      if (to.kind == Unspent) return std::nullopt;
      if (to.kind == SpentPending) {
        if (to.txid != from.txid) return refused("the output is locked by another transaction");
        return std::nullopt;
      }
      return refused("a locked output goes to SpentPending or back to Unspent");
    case SpentPending:
      if (to.kind == Unspent) return std::nullopt;
      if (to.kind == SpentFinalized) {
        if (to.txid != from.txid) return refused("the output is pending for another transaction");
        return std::nullopt;
      }
      return refused("a pending spend goes to SpentFinalized or back to Unspent");
    case SpentFinalized:
      if (to.kind == Confirmed) {
        if (to.txid != from.txid) return refused("the output was spent by another transaction");
        return std::nullopt;
      }
      return refused("a finalized spend can only be confirmed");
    case Confirmed: return refused("a confirmed spend is final");
  }
  return refused("unknown state");
}

}  // namespace eventnode::plugins::utxo
