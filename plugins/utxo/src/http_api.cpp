#include "http_api.hpp"

#include "signature.hpp"
#include "transaction.hpp"

#include <chrono>
#include <limits>
#include <memory>

namespace eventnode::plugins::utxo {
namespace {

using plugin::HttpRequest;
using plugin::HttpResponse;
using plugin::Json;
using plugin::RouteAccess;

// A command waits behind at most one batch commit; this only guards against a stuck disk.
constexpr auto kCommandTimeout = std::chrono::seconds(10);

template <typename Result>
Result await(std::future<Result> future) {
  if (future.wait_for(kCommandTimeout) != std::future_status::ready) {
    throw std::runtime_error("the ledger did not answer within 10 s");
  }
  return future.get();
}

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string formatRate(double rate) {
  const auto whole = static_cast<std::int64_t>(rate);
  if (static_cast<double>(whole) == rate) return std::to_string(whole);
  return std::to_string(rate);
}

HttpResponse unavailable(const std::exception& e) {
  return HttpResponse::error(503, "ledger_unavailable", std::string(e.what()) + "; retry");
}

Json parseBody(const HttpRequest& request) {
  auto read = plugin::readJson(request.body, {.max_values = kMaxTransactionJsonValues});
  if (!read.ok()) throw InputError("the body is refused: " + read.error);
  if (!read.value.is_object()) throw InputError("the body must be a JSON object");
  return std::move(read.value);
}

Json utxoJson(const Utxo& utxo) {
  return Json{{"outpoint", toJson(utxo.outpoint)},
              {"address", utxo.address},
              {"amount", utxo.amount},
              {"state", toJson(utxo.state)}};
}

Json transactionJson(const Ledger& ledger, const TxRecord& record) {
  auto votes = Json::array();
  for (const auto& [voter, vote] : record.votes) votes.push_back(toJson(vote));
  Json json{{"txid", record.tx.txid},
            {"status", statusName(record.status)},
            {"approvals", record.approvals()},
            {"rejections", record.rejections()},
            {"total_nodes", ledger.totalNodes()},
            {"quorum", ledger.quorumSize()},
            {"votes", std::move(votes)},
            {"addresses", record.addresses},
            {"received_at", record.received_at},
            {"transaction", toJson(record.tx)}};
  if (record.status != TxStatus::Pending) json["decided_at"] = record.decided_at;
  if (record.status == TxStatus::Rejected) json["reason"] = record.reason;
  if (record.status == TxStatus::Confirmed) {
    json["block_height"] = record.block_height;
    json["confirmed_at"] = record.confirmed_at;
  }
  return json;
}

HttpResponse refusal(const Outcome& outcome, const char* code) {
  if (outcome.verdict == Verdict::Conflict) return HttpResponse::error(409, code, outcome.message);
  return HttpResponse::error(400, code, outcome.message);
}

/// Runs a handler, turning a body that is not JSON into 415, bad input into
/// 400 and an unavailable ledger into 503.
template <typename Handler>
plugin::HttpHandler guarded(Handler handler) {
  return [handler = std::move(handler)](const HttpRequest& request) {
    if (auto refusal = plugin::refuseNonJsonBody(request)) return *refusal;
    try {
      return handler(request);
    } catch (const InputError& e) {
      return HttpResponse::error(400, "invalid_request", e.what());
    } catch (const std::exception& e) {
      return unavailable(e);
    }
  };
}

}  // namespace

void addHttpRoutes(plugin::Host& host, Engine& engine, HttpApiConfig config, std::function<Json()> peer_status) {
  const auto prefix = config.address_prefix;
  auto budget = std::make_shared<ClientBudget>(config.checks_per_second, config.checks_burst);
  host.addHttpRoute(
      {"POST", "/api/utxo/transactions", RouteAccess::Public,
       guarded([&engine, config, budget](const HttpRequest& request) {
         // Cheapest refusal first: nothing is parsed for a client over its budget.
         const auto client = clientKey(request.remote_address);
         if (const auto admission = budget->admit(client); !admission.admitted) {
           auto response = HttpResponse::error(
               429, "rate_limited",
               "this client (" + client + ") has used its budget of transaction checks: " + formatRate(budget->rate()) +
                   " inputs a second (signature_checks_per_second); retry in " +
                   std::to_string(admission.retry_after.count()) + " s");
           response.headers.emplace_back("Retry-After", std::to_string(admission.retry_after.count()));
           return response;
         }
         // A request costs one signature check per input it declares, and at least one: a
         // refused request too, so that replaying any body runs the budget down. A body over
         // the cap is charged in full: it puts its sender in debt for a while.
         budget->charge(client, 1);
         Transaction tx;
         try {
           const auto body = parseBody(request);
           const auto inputs = body.find("inputs");
           const auto declared = inputs != body.end() && inputs->is_array() ? inputs->size() : 0;
           if (declared > 1) budget->charge(client, static_cast<double>(declared - 1));
           tx = parseTransaction(body, config.address_prefix, config.limits);
           if (config.verify_signatures) requireSignatureShapes(tx);
         } catch (const InputError& e) {
           return HttpResponse::error(400, "invalid_transaction", e.what());
         }
         // The ledger's answer before any signature: a transaction it refuses costs no Ed25519 work.
         const auto checked = engine.read([&](const Ledger& ledger) { return ledger.check(tx, unixNow()); });
         if (checked.verdict == Verdict::Invalid)
           return HttpResponse::error(400, "invalid_transaction", checked.message);
         if (checked.verdict == Verdict::Conflict) return HttpResponse::error(409, "double_spend", checked.message);
         if (checked.verdict == Verdict::Accepted && config.verify_signatures) {
           try {
             requireValidSignatures(tx);
           } catch (const InputError& e) {
             return HttpResponse::error(400, "invalid_transaction", e.what());
           }
         }
         // A duplicate goes through the engine too: it answers once the transaction is durable.
         const auto outcome = await(engine.post<Outcome>([tx](Ledger& ledger, Effects& effects, std::int64_t now) {
           return ledger.submit(tx, false, now, effects);
         }));
         if (outcome.verdict == Verdict::Invalid)
           return HttpResponse::error(400, "invalid_transaction", outcome.message);
         if (outcome.verdict == Verdict::Conflict) return HttpResponse::error(409, "double_spend", outcome.message);
         const auto status = engine.read([&](const Ledger& ledger) { return statusName(ledger.transaction(tx.txid)->status); });
         return HttpResponse::json(outcome.verdict == Verdict::Duplicate ? 200 : 202,
                                   {{"txid", tx.txid}, {"status", status}});
       })});

  host.addHttpRoute({"POST", "/api/utxo/votes", RouteAccess::Admin, guarded([&engine](const HttpRequest& request) {
                       auto vote = parseVote(parseBody(request));
                       const auto outcome =
                           await(engine.post<Outcome>([vote](Ledger& ledger, Effects& effects, std::int64_t now) {
                             return ledger.vote(vote, now, effects);
                           }));
                       if (outcome.verdict == Verdict::Invalid || outcome.verdict == Verdict::Conflict) {
                         return refusal(outcome, "invalid_vote");
                       }
                       return HttpResponse::json(202, {{"txid", vote.txid},
                                                       {"voter", vote.voter},
                                                       {"counted", outcome.verdict == Verdict::Accepted},
                                                       {"message", outcome.message}});
                     })});

  host.addHttpRoute({"POST", "/api/utxo/blocks", RouteAccess::Admin, guarded([&engine](const HttpRequest& request) {
                       const auto body = parseBody(request);
                       const auto height =
                           requireUnsigned(body, "height", std::numeric_limits<std::int64_t>::max(), "block");
                       const auto list = body.find("txids");
                       if (list == body.end() || !list->is_array()) throw InputError("block.txids must be an array");
                       std::vector<std::string> txids;
                       for (const auto& txid : *list) {
                         if (!txid.is_string() || !isValidTxid(txid.get<std::string>())) {
                           throw InputError("block.txids must hold 64-character lowercase hex txids");
                         }
                         txids.push_back(txid.get<std::string>());
                       }
                       const auto outcome = await(engine.post<BlockOutcome>(
                           [height, txids](Ledger& ledger, Effects& effects, std::int64_t now) {
                             return ledger.confirmBlock(height, txids, now, effects);
                           }));
                       auto skipped = Json::array();
                       for (const auto& [txid, reason] : outcome.skipped) {
                         skipped.push_back(Json{{"txid", txid}, {"reason", reason}});
                       }
                       return HttpResponse::json(200, {{"height", height},
                                                       {"confirmed", outcome.confirmed},
                                                       {"skipped", std::move(skipped)}});
                     })});

  host.addHttpRoute(
      {"POST", "/api/utxo/utxos", RouteAccess::Admin, guarded([&engine, prefix](const HttpRequest& request) {
         const auto body = parseBody(request);
         const auto list = body.find("utxos");
         if (list == body.end() || !list->is_array() || list->empty()) {
           throw InputError("the body needs \"utxos\": a non-empty array of {txid, vout, address, amount}");
         }
         std::vector<Utxo> utxos;
         for (std::size_t i = 0; i < list->size(); ++i) {
           const auto field = "utxos[" + std::to_string(i) + "]";
           const auto& item = (*list)[i];
           Utxo utxo;
           utxo.outpoint = parseOutPoint(item, field);
           utxo.address = requireString(item, "address", field);
           requireAddress(utxo.address, prefix, field + ".address");
           utxo.amount = requireUnsigned(item, "amount", std::numeric_limits<std::uint64_t>::max(), field);
           utxos.push_back(std::move(utxo));
         }
         const auto outcome = await(engine.post<Outcome>(
             [utxos](Ledger& ledger, Effects& effects, std::int64_t) { return ledger.seed(utxos, effects); }));
         if (outcome.verdict != Verdict::Accepted) return refusal(outcome, "utxo_exists");
         return HttpResponse::json(200, {{"added", utxos.size()}});
       })});

  host.addHttpRoute({"GET", "/api/utxo/outpoints/{outpoint}", RouteAccess::Public,
                     guarded([&engine](const HttpRequest& request) {
                       const auto outpoint = parseOutPointKey(request.path_params.at("outpoint"));
                       auto found = engine.read([&](const Ledger& ledger) {
                         const auto* utxo = ledger.utxo(outpoint);
                         return utxo ? utxoJson(*utxo) : Json(nullptr);
                       });
                       if (found.is_null()) {
                         return HttpResponse::error(404, "unknown_outpoint", "no UTXO " + outpoint.key());
                       }
                       return HttpResponse::json(200, found);
                     })});

  host.addHttpRoute({"GET", "/api/utxo/addresses/{address}", RouteAccess::Public,
                     guarded([&engine, prefix](const HttpRequest& request) {
                       const auto& address = request.path_params.at("address");
                       requireAddress(address, prefix, "the address");
                       return HttpResponse::json(200, engine.read([&](const Ledger& ledger) {
                         auto utxos = Json::array();
                         const auto owned = ledger.utxosOf(address);
                         for (const auto* utxo : owned) utxos.push_back(utxoJson(*utxo));
                         const auto balance = unspentBalance(owned);
                         Json json{{"address", address}, {"utxos", std::move(utxos)}, {"balance", balance.amount}};
                         if (balance.saturated) {
                           // JSON readers commonly stop at 2^64-1: the true sum goes as text, and says so.
                           json["balance_saturated"] = true;
                           json["balance_exact"] = balance.exact;
                         }
                         return json;
                       }));
                     })});

  host.addHttpRoute({"GET", "/api/utxo/transactions/{txid}", RouteAccess::Public,
                     guarded([&engine](const HttpRequest& request) {
                       const auto& txid = request.path_params.at("txid");
                       if (!isValidTxid(txid)) throw InputError("a txid is 64 lowercase hex characters");
                       auto found = engine.read([&](const Ledger& ledger) {
                         const auto* record = ledger.transaction(txid);
                         return record ? transactionJson(ledger, *record) : Json(nullptr);
                       });
                       if (found.is_null()) return HttpResponse::error(404, "unknown_transaction", "no transaction " + txid);
                       return HttpResponse::json(200, found);
                     })});

  host.addHttpRoute({"GET", "/api/utxo/peers", RouteAccess::Admin, [peer_status](const HttpRequest&) {
                       return HttpResponse::json(200, {{"peers", peer_status()}});
                     }});

  host.addHttpRoute({"GET", "/api/utxo/status", RouteAccess::Admin, [&engine](const HttpRequest&) {
                       const auto stats = engine.stats();
                       auto status = engine.read([](const Ledger& ledger) {
                         return Json{{"masternode", ledger.config().self_id},
                                     {"total_nodes", ledger.totalNodes()},
                                     {"quorum", ledger.quorumSize()},
                                     {"utxos", ledger.utxosCount()},
                                     {"transactions", ledger.transactionCount()},
                                     {"pending", ledger.pendingCount()}};
                       });
                       status["engine"] = {{"batches", stats.batches},
                                           {"commands", stats.commands},
                                           {"queued", stats.queued},
                                           {"commit_ms_total", stats.commit_ms_total},
                                           {"commit_ms_max", stats.commit_ms_max}};
                       return HttpResponse::json(200, status);
                     }});
}

}  // namespace eventnode::plugins::utxo
