#include "minter.hpp"

#include "meter_events.hpp"
#include "rfc3339.hpp"
#include "rpc_client.hpp"
#include "solana_pda.hpp"

#include <sodium.h>

#include <algorithm>
#include <set>

namespace eventnode::plugins::meter {
namespace {

using plugin::Json;
using solana_listener::RpcError;
using solana_listener::RpcUnavailable;

/// getSignatureStatuses takes at most 256 signatures per call.
constexpr std::size_t kStatusesPerCall = 256;
/// A transaction not seen landed is sent again (same bytes) this often until its blockhash expires.
constexpr std::int64_t kResendAfterMs = 2000;
/// While the RPC node does not answer, /healthz and the log are told again this often.
constexpr std::int64_t kDownReportEveryMs = 5000;

std::string base64(const std::vector<std::uint8_t>& bytes) {
  std::string text(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(text.data(), text.size(), bytes.data(), bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  text.resize(text.size() - 1);  // the terminating NUL
  return text;
}

int commitmentRank(const std::string& level) {
  if (level == "finalized") return 3;
  if (level == "confirmed") return 2;
  if (level == "processed") return 1;
  return 0;
}

/// Errors that prove the transaction did not and will not land (the node refused it before executing).
bool refusedOutright(const RpcError& e) {
  return e.code() == -32002 /* preflight simulation failed */ || e.code() == -32003 /* signature verification */ ||
         e.code() == -32602 /* invalid params: a malformed transaction */;
}

}  // namespace

Minter::Minter(const MintSettings& settings, MeterStore& store, plugin::Host& host)
    : settings_(settings),
      store_(store),
      host_(host),
      logger_(host.logger()),
      authority_(loadKeypairFile(settings.authority_keypair_file)) {
  setup_.mint = publicKey(settings.mint);
  setup_.decimals = static_cast<std::uint8_t>(settings.decimals);
  setup_.authority = authority_.public_key;
  rpc_ = std::make_unique<solana_listener::RpcClient>(settings.rpc_url, settings.rpc_timeout);
}

Minter::~Minter() {
  stop();
  sodium_memzero(authority_.secret.data(), authority_.secret.size());
}

void Minter::start() {
  subscription_ = host_.subscribe("solana:tx:*", [this](const std::string&, const Json& data) { onBusAnswer(data); });
  last_batch_ms_ = nowMillis();
  registerMetrics();
  running_ = true;
  thread_ = std::thread([this] { run(); });
  logger_->info("minting authority={} mint={} rpc={} interval_ms={} batch_size={}", toBase58(authority_.public_key),
                settings_.mint, settings_.rpc_url, settings_.interval.count(), settings_.batch_size);
}

void Minter::registerMetrics() {
  using plugin::MetricType;
  const auto read = [this](const std::int64_t Minter::*field) {
    return [this, field] {
      std::lock_guard lock(mutex_);
      return static_cast<double>(this->*field);
    };
  };
  host_.observe("batches_completed_total", "Minting batches completed.", MetricType::Counter, {},
                read(&Minter::batches_completed_));
  host_.observe("transactions_sent_total", "Minting transactions signed, stored and sent.", MetricType::Counter, {},
                read(&Minter::transactions_sent_));
  host_.observe("transactions_settled_total", "Minting transactions whose outcome is known, by who told.",
                MetricType::Counter, {{"by", "listener"}}, read(&Minter::settled_by_listener_));
  host_.observe("transactions_settled_total", "Minting transactions whose outcome is known, by who told.",
                MetricType::Counter, {{"by", "polling"}}, read(&Minter::settled_by_polling_));
  host_.observe("rpc_down_seconds", "How long the Solana RPC node has not answered (0: it answers).", MetricType::Gauge,
                {}, [this] {
                  std::lock_guard lock(mutex_);
                  return down_since_ms_ == 0 ? 0.0 : static_cast<double>(nowMillis() - down_since_ms_) / 1000;
                });
}

void Minter::stop() {
  if (subscription_) {
    host_.unsubscribe(subscription_);
    subscription_ = 0;
  }
  {
    std::lock_guard lock(mutex_);
    running_ = false;
    nudged_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Minter::readingStored() {
  // Cheap: the thread looks at the pending count itself; a nudge only spares it the wait.
  {
    std::lock_guard lock(mutex_);
    nudged_ = true;
  }
  wake_.notify_one();
}

void Minter::sleepFor(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, delay, [this] { return nudged_ || !running_; });
  nudged_ = false;
}

void Minter::run() {
  while (running_) {
    bool worked = false;
    try {
      announce();
      const auto before = transactions_sent_;
      step();
      worked = transactions_sent_ != before;
      healthy();
    } catch (const RpcUnavailable& e) {
      unreachable(e.what());
    } catch (const RpcError& e) {
      unreachable(e.what());
    } catch (const std::exception& e) {
      logger_->error("minting step failed error=\"{}\"", e.what());
    }
    if (!worked) sleepFor(settings_.poll_interval);
  }
}

bool Minter::batchDue() {
  const auto pending = store_.pendingReadings();
  if (pending == 0) return false;
  std::lock_guard lock(mutex_);
  return pending >= settings_.batch_size || nowMillis() - last_batch_ms_ >= settings_.interval.count();
}

void Minter::step() {
  auto batch = store_.openBatch();
  if (!batch && batchDue()) {
    batch = store_.createBatch(settings_.batch_size, nowMillis());
    if (batch) {
      std::lock_guard lock(mutex_);
      last_batch_ms_ = nowMillis();
    }
    if (batch) logger_->info("batch opened batch_id={}", *batch);
  }
  if (!batch) return;
  if (progress(*batch)) announce();
}

bool Minter::progress(std::int64_t batch_id) {
  settleUnsettled(batch_id);
  sendUnsent(batch_id);
  const auto summary = store_.completeBatch(batch_id, settings_.max_attempts, nowMillis());
  if (!summary) return false;
  {
    std::lock_guard lock(mutex_);
    ++batches_completed_;
  }
  logger_->info("batch completed batch_id={} readings={} successful={} failed={} abandoned={}", batch_id,
                summary->total_readings, summary->successful, summary->failed, summary->abandoned);
  if (summary->abandoned > 0) {
    logger_->error("readings abandoned after {} failed mints batch_id={} count={}", settings_.max_attempts, batch_id,
                   summary->abandoned);
  }
  return true;
}

void Minter::settleUnsettled(std::int64_t batch_id) {
  const auto unsettled = store_.unsettledTransactions(batch_id);
  if (unsettled.empty()) return;
  const auto now = nowMillis();
  std::vector<const SentTransaction*> to_poll;
  for (const auto& tx : unsettled) {
    watch(tx.signature);  // after a restart: ask again
    std::optional<Json> answer;
    std::int64_t watched_at = now;
    {
      std::lock_guard lock(mutex_);
      if (auto it = answers_.find(tx.signature); it != answers_.end()) answer = it->second;
      watched_at = watched_[tx.signature];
    }
    const auto status = answer ? answer->value("status", std::string()) : std::string();
    if (commitmentRank(status) > 0 || status == "failed") {
      const bool failed = status == "failed";
      store_.settleTransaction(tx.signature, failed ? TransactionOutcome::Failed : TransactionOutcome::Landed, now);
      if (failed) logger_->warn("mint transaction failed signature={} err={}", tx.signature, (*answer)["err"].dump());
      std::lock_guard lock(mutex_);
      answers_.erase(tx.signature);
      watched_.erase(tx.signature);
      ++settled_by_listener_;
      continue;
    }
    // No listener answer (none loaded, or it said expired): ask the RPC node ourselves.
    if (now - watched_at >= settings_.listener_grace.count() || status == "expired") to_poll.push_back(&tx);
  }
  if (to_poll.empty()) return;
  // Block height first: a transaction not found afterwards, whose last valid height is below it, can never land.
  const auto height = rpc_->call("getBlockHeight", Json::array({{{"commitment", settings_.commitment}}}));
  const auto block_height = height.is_number_integer() ? height.get<std::int64_t>() : 0;
  for (std::size_t first = 0; first < to_poll.size(); first += kStatusesPerCall) {
    const auto last = std::min(to_poll.size(), first + kStatusesPerCall);
    Json signatures = Json::array();
    for (std::size_t i = first; i < last; ++i) signatures.push_back(to_poll[i]->signature);
    const auto result =
        rpc_->call("getSignatureStatuses", Json::array({signatures, {{"searchTransactionHistory", true}}}));
    const auto& values = result.is_object() ? result["value"] : Json();
    for (std::size_t i = first; i < last; ++i) {
      const auto& tx = *to_poll[i];
      const auto& value = values.is_array() && values.size() > i - first ? values[i - first] : Json();
      if (value.is_object()) {
        const auto& err = value.contains("err") ? value["err"] : Json();
        if (!err.is_null()) {
          store_.settleTransaction(tx.signature, TransactionOutcome::Failed, nowMillis());
          logger_->warn("mint transaction failed signature={} err={}", tx.signature, err.dump());
        } else if (commitmentRank(value.value("confirmationStatus", std::string())) <
                   commitmentRank(settings_.commitment)) {
          continue;  // landed, not yet at the commitment asked for
        } else {
          store_.settleTransaction(tx.signature, TransactionOutcome::Landed, nowMillis());
        }
        std::lock_guard lock(mutex_);
        ++settled_by_polling_;
        watched_.erase(tx.signature);
        answers_.erase(tx.signature);
      } else if (block_height > tx.last_valid_block_height) {
        logger_->warn(
            "mint transaction expired unlanded, its mints are built anew signature={} last_valid={} height={}",
            tx.signature, tx.last_valid_block_height, block_height);
        store_.settleTransaction(tx.signature, TransactionOutcome::Expired, nowMillis());
        std::lock_guard lock(mutex_);
        watched_.erase(tx.signature);
        answers_.erase(tx.signature);
      } else if (nowMillis() - tx.sent_ms >= kResendAfterMs) {
        // Not seen yet (a crash before the send, or a dropped packet): the same bytes again cannot mint twice.
        try {
          rpc_->call(
              "sendTransaction",
              Json::array(
                  {tx.wire_base64,
                   {{"encoding", "base64"}, {"skipPreflight", true}, {"preflightCommitment", settings_.commitment}}}));
        } catch (const RpcError& e) {
          logger_->debug("resend refused signature={} error=\"{}\"", tx.signature, e.what());
        }
      }
    }
  }
}

void Minter::sendUnsent(std::int64_t batch_id) {
  const auto mints = store_.unsentMints(batch_id);
  if (mints.empty()) return;
  std::vector<MintOrder> orders;
  orders.reserve(mints.size());
  for (const auto& mint : mints) {
    const auto wallet = publicKey(mint.wallet);  // checked when the meter was registered
    orders.push_back({mint.id, wallet, associatedTokenAddress(wallet, setup_.mint),
                      static_cast<std::uint64_t>(mint.base_units), !mint.account_known});
  }
  const auto latest = rpc_->call("getLatestBlockhash", Json::array({{{"commitment", settings_.commitment}}}));
  const auto& value = latest.is_object() ? latest["value"] : Json();
  const auto blockhash = value.is_object() && value["blockhash"].is_string()
                             ? parsePublicKey(value["blockhash"].get_ref<const std::string&>())
                             : std::nullopt;
  if (!blockhash || !value["lastValidBlockHeight"].is_number_integer()) {
    throw RpcUnavailable("getLatestBlockhash answered without a blockhash: " + latest.dump().substr(0, 200));
  }
  const auto last_valid = value["lastValidBlockHeight"].get<std::int64_t>();
  for (const auto& group : packMintOrders(setup_, orders)) {
    const auto signed_tx = signTransaction(mintMessage(setup_, group, *blockhash), authority_);
    const SentTransaction tx{toBase58(signed_tx.signature), base64(signed_tx.wire), last_valid, nowMillis()};
    std::vector<std::int64_t> ids;
    ids.reserve(group.size());
    for (const auto& order : group) ids.push_back(order.mint_id);
    store_.recordTransaction(batch_id, tx, ids);  // before it leaves: a crash from here on cannot mint twice
    watch(tx.signature);
    {
      std::lock_guard lock(mutex_);
      ++transactions_sent_;
    }
    try {
      rpc_->call(
          "sendTransaction",
          Json::array({tx.wire_base64, {{"encoding", "base64"}, {"preflightCommitment", settings_.commitment}}}));
      logger_->debug("mint transaction sent signature={} mints={} bytes={}", tx.signature, group.size(),
                     signed_tx.wire.size());
    } catch (const RpcError& e) {
      if (!refusedOutright(e)) throw;
      if (landedAlready(tx.signature, e)) {
        logger_->info("mint transaction on chain from an earlier send signature={}", tx.signature);
        continue;  // stays sent: its status settles it
      }
      logger_->warn("mint transaction refused signature={} mints={} error=\"{}\"", tx.signature, group.size(),
                    e.what());
      store_.settleTransaction(tx.signature, TransactionOutcome::Failed, nowMillis());
    }
  }
}

bool Minter::landedAlready(const std::string& signature, const RpcError& refusal) {
  // A refusal is no proof the transaction is not on chain: an earlier send of the same bytes
  // whose answer was lost (a timeout, a connection the client redialled and sent on again)
  // may have landed, and the node's preflight then says AlreadyProcessed. Counting its
  // mints failed would mint them twice in a later batch; its status settles it instead.
  if (std::string_view(refusal.what()).find("AlreadyProcessed") != std::string_view::npos) return true;
  const auto result =
      rpc_->call("getSignatureStatuses", Json::array({Json::array({signature}), {{"searchTransactionHistory", true}}}));
  const auto& values = result.is_object() ? result["value"] : Json();
  return values.is_array() && !values.empty() && !values[0].is_null();
}

void Minter::announce() {
  for (const auto& batch : store_.unannouncedBatches()) {
    for (const auto& mint : store_.confirmedMints(batch.batch_id)) {
      const auto result = host_.sendToUser(mint.owner, tokensMinted(mint, batch.completed_ms));
      if (result.status == plugin::PublishStatus::Unavailable) return;  // the broker is down: all of it again later
    }
    const auto result = host_.sendToAdmins(batchMintingCompleted(batch));
    if (result.status == plugin::PublishStatus::Unavailable) return;
    store_.markAnnounced(batch.batch_id);
  }
}

void Minter::watch(const std::string& signature) {
  {
    std::lock_guard lock(mutex_);
    if (!watched_.emplace(signature, nowMillis()).second) return;
  }
  host_.publishToBus("solana:watch", Json{{"signature", signature}, {"commitment", settings_.commitment}});
}

void Minter::onBusAnswer(const Json& data) {
  if (!data.is_object() || data.value("type", std::string()) != "SolanaSignatureStatus") return;
  const auto signature = data.value("signature", std::string());
  {
    std::lock_guard lock(mutex_);
    if (!watched_.contains(signature)) return;
    answers_[signature] = data;
    nudged_ = true;
  }
  wake_.notify_one();
}

void Minter::healthy() {
  {
    std::lock_guard lock(mutex_);
    if (down_since_ms_ == 0) return;
    down_since_ms_ = 0;
    down_reason_.clear();
  }
  logger_->info("solana rpc reachable again rpc={}", settings_.rpc_url);
  host_.reportHealth(plugin::HealthState::Ok, "");
}

void Minter::unreachable(const std::string& reason) {
  std::int64_t since = 0;
  const auto now = nowMillis();
  {
    std::lock_guard lock(mutex_);
    // Retries come every poll interval; /healthz and the log hear of it when it starts, then every few seconds.
    const bool first = down_since_ms_ == 0;
    if (first) down_since_ms_ = now;
    if (!first && reason == down_reason_ && now - down_reported_ms_ < kDownReportEveryMs) return;
    since = down_since_ms_;
    down_reason_ = reason;
    down_reported_ms_ = now;
  }
  const auto waiting = store_.readingCounts();
  const auto text = "solana rpc " + settings_.rpc_url + " not answering for " + std::to_string((now - since) / 1000) +
                    " s: " + reason + "; " + std::to_string(waiting.at("pending") + waiting.at("batched")) +
                    " readings wait to be minted";
  logger_->warn("{}", text);
  host_.reportHealth(plugin::HealthState::Degraded, text);
}

Json Minter::status() {
  std::lock_guard lock(mutex_);
  return {{"enabled", true},
          {"authority", toBase58(authority_.public_key)},
          {"mint", settings_.mint},
          {"batches_completed", batches_completed_},
          {"transactions_sent", transactions_sent_},
          {"settled_by_listener", settled_by_listener_},
          {"settled_by_polling", settled_by_polling_},
          {"watching", watched_.size()},
          {"rpc_down_since", down_since_ms_ ? Json(formatRfc3339Millis(down_since_ms_)) : Json(nullptr)},
          {"rpc_error", down_reason_}};
}

}  // namespace eventnode::plugins::meter
