#include "peer_protocol.hpp"

#include "signature.hpp"

#include <chrono>

namespace eventnode::plugins::utxo {

using plugin::Json;

namespace {
constexpr std::size_t kMaxQueryOutpoints = 10000;
constexpr std::size_t kMaxRemoteSubscriptions = 10000;

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

PeerProtocol::PeerProtocol(Engine& engine, std::string address_prefix, bool verify_signatures, TransactionLimits limits,
                           std::shared_ptr<spdlog::logger> logger)
    : engine_(engine),
      prefix_(std::move(address_prefix)),
      verify_signatures_(verify_signatures),
      limits_(limits),
      logger_(std::move(logger)) {}

void PeerProtocol::onMessage(const std::string& peer_id, const Json& message, const P2pReply& reply) {
  if (!message.is_object() || message.size() != 1) return;
  const auto& kind = message.begin().key();
  const auto& body = message.begin().value();
  try {
    handle(peer_id, kind, body, reply);
  } catch (const std::exception& e) {
    // A well-framed message with bad content: refuse that message, keep the peer.
    logger_->warn("refused peer message peer={} kind={} reason=\"{}\"", peer_id, kind, e.what());
  }
}

void PeerProtocol::handle(const std::string& peer_id, const std::string& kind, const Json& body,
                          const P2pReply& reply) {
  if (kind == "TransactionBroadcast") {
    auto tx = parseTransaction(body, prefix_, limits_);
    if (verify_signatures_) requireSignatureShapes(tx);
    // The ledger's look-up before any signature. Known already: nothing to do.
    // Invalid here (an unknown input, a key that does not own its input, …):
    // the engine says so with a reject vote, which needs no signature, but
    // only if it still finds the transaction invalid when it gets to it
    // (commands queued ahead may have created its inputs meanwhile).
    const auto checked = engine_.read([&](const Ledger& ledger) { return ledger.check(tx, unixNow()); });
    if (checked.verdict == Verdict::Duplicate) return;
    if (checked.verdict == Verdict::Invalid) {
      engine_.postDetached([tx = std::move(tx), peer_id, verify = verify_signatures_, logger = logger_](
                               Ledger& ledger, Effects& effects, std::int64_t now) {
        const auto again = ledger.check(tx, now);
        if (again.verdict != Verdict::Invalid && verify) {
          try {
            // Rare: its inputs appeared while it waited. Bounded by the caps.
            requireValidSignatures(tx);
          } catch (const InputError& e) {
            logger->warn("refused peer transaction peer={} txid={} reason=\"{}\"", peer_id, tx.txid, e.what());
            return;
          }
        }
        const auto outcome = ledger.submit(tx, true, now, effects);
        if (outcome.verdict == Verdict::Invalid) {
          logger->warn("refused peer transaction peer={} txid={} reason=\"{}\"", peer_id, tx.txid, outcome.message);
        }
      });
      return;
    }
    if (verify_signatures_) requireValidSignatures(tx);
    engine_.postDetached([tx = std::move(tx), peer_id, logger = logger_](Ledger& ledger, Effects& effects,
                                                                       std::int64_t now) {
      // A conflict is normal between honest masternodes (it gets a reject vote);
      // an invalid transaction from a peer is worth an operator's look.
      const auto outcome = ledger.submit(tx, true, now, effects);
      if (outcome.verdict == Verdict::Invalid) {
        logger->warn("refused peer transaction peer={} txid={} reason=\"{}\"", peer_id, tx.txid, outcome.message);
      }
    });
    return;
  }
  if (kind == "InstantFinalityVote") {
    auto vote = parseVote(body);
    if (vote.voter != peer_id) throw InputError("vote.voter " + vote.voter + " is not the sending peer");
    engine_.postDetached([vote = std::move(vote), peer_id, logger = logger_](Ledger& ledger, Effects& effects,
                                                                               std::int64_t now) {
      const auto outcome = ledger.vote(vote, now, effects);
      if (outcome.verdict == Verdict::Invalid || outcome.verdict == Verdict::Conflict) {
        logger->warn("refused vote peer={} txid={} reason=\"{}\"", peer_id, vote.txid, outcome.message);
      }
    });
    return;
  }
  if (kind == "UTXOStateQuery") {
    const auto& list = body.at("outpoints");
    if (!list.is_array() || list.size() > kMaxQueryOutpoints) {
      throw InputError("UTXOStateQuery.outpoints must be an array of at most " + std::to_string(kMaxQueryOutpoints));
    }
    std::vector<OutPoint> outpoints;
    for (const auto& item : list) outpoints.push_back(parseOutPoint(item, "UTXOStateQuery.outpoints[]"));
    auto states = engine_.read([&](const Ledger& ledger) {
      auto found = Json::array();
      for (const auto& outpoint : outpoints) {
        const auto* utxo = ledger.utxo(outpoint);
        found.push_back(Json{{"outpoint", toJson(outpoint)}, {"state", utxo ? toJson(utxo->state) : Json(nullptr)}});
      }
      return found;
    });
    reply(Json{{"UTXOStateResponse", {{"states", states.dump()}}}});
    return;
  }
  if (kind == "UTXOSubscribe") {
    RemoteSubscription subscription{peer_id, {}, {}, reply};
    const auto id = requireString(body, "subscriber_id", "UTXOSubscribe");
    for (const auto& item : body.value("outpoints", Json::array())) {
      subscription.outpoints.insert(parseOutPoint(item, "UTXOSubscribe.outpoints[]"));
    }
    for (const auto& item : body.value("addresses", Json::array())) {
      if (!item.is_string()) throw InputError("UTXOSubscribe.addresses must hold strings");
      requireAddress(item.get<std::string>(), prefix_, "UTXOSubscribe.addresses[]");
      subscription.addresses.insert(item.get<std::string>());
    }
    std::lock_guard lock(mutex_);
    if (subscriptions_.size() >= kMaxRemoteSubscriptions && !subscriptions_.contains(id)) {
      throw InputError("too many peer subscriptions");
    }
    subscriptions_[id] = std::move(subscription);
    return;
  }
  if (kind == "UTXOUnsubscribe") {
    const auto id = requireString(body, "subscriber_id", "UTXOUnsubscribe");
    std::lock_guard lock(mutex_);
    subscriptions_.erase(id);
    return;
  }
  // Answers to queries and subscriptions this node never makes.
  logger_->debug("ignored peer message peer={} kind={}", peer_id, kind);
}

void PeerProtocol::notify(const std::vector<StateChange>& changes) {
  std::lock_guard lock(mutex_);
  if (subscriptions_.empty()) return;
  for (const auto& change : changes) {
    for (const auto& [id, subscription] : subscriptions_) {
      if (subscription.outpoints.contains(change.outpoint) || subscription.addresses.contains(change.address)) {
        subscription.reply(Json{{"UTXOStateNotification", {{"notification", change.notification}}}});
      }
    }
  }
}

}  // namespace eventnode::plugins::utxo
