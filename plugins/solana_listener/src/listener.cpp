#include "listener.hpp"

#include "spl_token.hpp"

#include <algorithm>

namespace eventnode::plugins::solana_listener {

using plugin::Json;

namespace {

// getTransaction calls sent in one batched request during a walk.
constexpr std::size_t kFetchBatch = 100;
// Live events named with one batched getTransaction at most.
constexpr std::size_t kMaxLiveBatch = 256;
// After a failed walk, the next one comes this soon.
constexpr auto kRetryDelay = std::chrono::seconds(1);
// getSignaturesForAddress returns at most this many per call.
constexpr std::size_t kPageSize = 1000;
// Cursor writes during a long backfill: often enough that a crash repeats
// little, rarely enough that SQLite is not the bottleneck.
constexpr std::size_t kCursorEvery = 100;

// Printed once per event; invalid UTF-8 (there should be none: the parser
// refuses it) is replaced, so the text is always publishable.
std::string eventText(const Json& event) {
  return event.dump(-1, ' ', false, Json::error_handler_t::replace);
}

int commitmentRank(const std::string& commitment) {
  if (commitment == "processed") return 0;
  if (commitment == "confirmed") return 1;
  if (commitment == "finalized") return 2;
  return -1;
}

}  // namespace

Listener::Listener(ListenerConfig config, const AnchorEventRegistry& events, CursorStore& cursors,
                   std::shared_ptr<spdlog::logger> logger, Publish publish)
    : config_(std::move(config)),
      cursors_(cursors),
      logger_(std::move(logger)),
      publish_(std::move(publish)),
      rpc_(std::make_unique<RpcClient>(config_.rpc_url, config_.rpc_timeout, config_.tls_ca_file)),
      published_(config_.dedup_capacity),
      cursor_of_(cursors.loadAll()) {
  builder_.events = &events;
  // What was published ahead of a cursor before a restart is not published again.
  for (const auto& signature : cursors.rememberedSignatures()) published_.insert(signature);
  // Every new socket is followed by a walk: what was sent while it was down is gone.
  pubsub_ = std::make_unique<PubSubClient>(config_.pubsub, logger_, [this] {
    reconcile();
    post([this] { checkWatches(); });
  });
  for (const auto& program : config_.programs) {
    stats_[program];
    // Solana accepts exactly one address per mentions filter: one subscription per program.
    pubsub_->subscribe("logsSubscribe", Json::array({Json{{"mentions", {program}}}, Json{{"commitment", config_.commitment}}}),
                       "logsUnsubscribe", [this, program](const Json& result) { onLogs(program, result); });
  }
  for (const auto& account : config_.accounts) {
    pubsub_->subscribe(
        "accountSubscribe",
        Json::array({account, Json{{"commitment", config_.commitment}, {"encoding", "base64"}}}), "accountUnsubscribe",
        [this, account](const Json& result) {
          const auto slot = result.contains("context") ? result["context"].value("slot", Json(nullptr)) : Json(nullptr);
          const Json event{{"type", "SolanaAccount"},
                           {"account", account},
                           {"slot", slot},
                           {"value", result.value("value", Json(nullptr))}};
          post([this, account, text = eventText(event)] { publish_("solana:account:" + account, text); });
        });
  }
}

Listener::~Listener() { stop(); }

void Listener::start() {
  {
    std::lock_guard lock(mutex_);
    if (running_) return;
    running_ = true;
  }
  worker_ = std::thread([this] { runWorker(); });
  pubsub_->start();
}

void Listener::stop() {
  pubsub_->stop();
  {
    std::lock_guard lock(mutex_);
    running_ = false;
  }
  ready_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void Listener::post(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (!running_) return;
    jobs_.push_back({std::move(job), std::nullopt});
  }
  ready_.notify_one();
}

void Listener::runWorker() {
  std::vector<LiveEvent> live;
  for (;;) {
    std::function<void()> job;
    live.clear();
    {
      std::unique_lock lock(mutex_);
      const auto due = [&] { return retry_at_ && std::chrono::steady_clock::now() >= *retry_at_; };
      while (running_ && jobs_.empty() && !due()) {
        if (retry_at_) {
          ready_.wait_until(lock, *retry_at_);
        } else {
          ready_.wait(lock);
        }
      }
      if (!running_) return;
      if (jobs_.empty()) {
        retry_at_.reset();
        job = [this] { walkAll(); };
      } else if (jobs_.front().live) {
        while (!jobs_.empty() && jobs_.front().live && live.size() < kMaxLiveBatch) {
          live.push_back(std::move(*jobs_.front().live));
          jobs_.pop_front();
        }
        job = [this, &live] { publishLive(live); };
      } else {
        job = std::move(jobs_.front().run);
        jobs_.pop_front();
      }
    }
    try {
      job();
    } catch (const std::exception& e) {
      logger_->error("listener job failed: {}", e.what());
    }
  }
}

void Listener::reconcile() {
  {
    std::lock_guard lock(mutex_);
    // One walk waiting is enough: it reads up to the moment it runs.
    if (walk_queued_ || !running_) return;
    walk_queued_ = true;
  }
  post([this] {
    {
      std::lock_guard lock(mutex_);
      walk_queued_ = false;
    }
    walkAll();
  });
}

void Listener::onLogs(const std::string& program, const Json& result) {
  auto built = buildFromLogsNotification(result, program, builder_);
  if (!built.ok()) {
    std::lock_guard lock(mutex_);
    ++malformed_;
    logger_->warn("malformed logsNotification program={} reason=\"{}\"", program, built.error);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    if (!running_) return;
    jobs_.push_back({nullptr, LiveEvent{program, std::move(built.event)}});
  }
  ready_.notify_one();
}

bool Listener::lacksTokenInstructionNames(const Json& event) {
  // The SPL Token rewrite (p-token) logs no "Instruction: <Name>" lines.
  for (const auto& instruction : event.value("instructions", Json::array())) {
    if (instruction.value("name", Json(nullptr)).is_null() &&
        isTokenProgram(instruction.value("program", std::string()))) {
      return true;
    }
  }
  return false;
}

void Listener::publishLive(std::vector<LiveEvent>& batch) {
  std::vector<std::size_t> unnamed;
  std::vector<std::pair<std::string, Json>> calls;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto& event = batch[i].event;
    if (!lacksTokenInstructionNames(event) || published_.contains(event["signature"].get<std::string>())) continue;
    unnamed.push_back(i);
    calls.emplace_back("getTransaction", Json::array({event["signature"], Json{{"encoding", "json"},
                                                                              {"maxSupportedTransactionVersion", 0},
                                                                              {"commitment", config_.commitment}}}));
  }
  if (!calls.empty()) {
    try {
      const auto started = std::chrono::steady_clock::now();
      const auto answers = rpc_->callBatch(calls);
      {
        std::lock_guard lock(mutex_);
        naming_rpc_.add(
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started));
      }
      for (std::size_t k = 0; k < unnamed.size(); ++k) {
        if (!answers[k] || answers[k]->is_null()) continue;
        auto& live = batch[unnamed[k]];
        auto built = buildFromTransaction(*answers[k], live.program, builder_);
        if (!built.ok()) continue;
        built.event["source"] = "live";
        live.event = std::move(built.event);
      }
    } catch (const std::exception& e) {
      // The live events still go out, without the instruction names.
      std::lock_guard lock(mutex_);
      ++rpc_errors_;
      logger_->warn("getTransaction for instruction names failed count={} reason=\"{}\"", calls.size(), e.what());
    }
  }
  for (const auto& live : batch) publishTransaction(live.program, live.event, true);
  flushRemembered();
}

void Listener::flushRemembered() {
  if (remember_.empty()) return;
  try {
    cursors_.remember(remember_);
  } catch (const std::exception& e) {
    // Only a restart's dedup depends on it: the events are out already.
    logger_->error("cannot remember published signatures: {}", e.what());
  }
  remember_.clear();
}

void Listener::publishTransaction(const std::string& program, const Json& event, bool live) {
  const auto& signature = event["signature"].get_ref<const std::string&>();
  if (published_.contains(signature)) {
    std::lock_guard lock(mutex_);
    ++duplicates_;
    return;
  }
  const auto text = eventText(event);
  // Not taken (the broker is down): neither deduplicated nor remembered, so the next walk publishes it again.
  if (!publish_("solana:program:" + program, text)) return;
  published_.insert(signature);
  publish_("solana:tx:" + signature, text);
  remember_.push_back({program, signature, event.value("slot", std::uint64_t{0})});
  std::lock_guard lock(mutex_);
  auto& stats = stats_[program];
  ++(live ? stats.live : stats.backfilled);
}

void Listener::walkAll() {
  bool failed = false;
  for (const auto& program : config_.programs) failed = !walk(program) || failed;
  if (failed) {
    // The RPC is down or refusing: try again soon rather than a whole reconcile interval later.
    std::lock_guard lock(mutex_);
    retry_at_ = std::chrono::steady_clock::now() + kRetryDelay;
  }
}

bool Listener::walk(const std::string& program) {
  const auto known = cursor_of_.find(program);
  std::vector<Json> entries;  // newest first
  try {
    std::optional<std::string> before;
    for (;;) {
      Json options{{"limit", kPageSize}, {"commitment", config_.commitment}};
      if (known != cursor_of_.end()) options["until"] = known->second.signature;
      if (before) options["before"] = *before;
      auto page = rpc_->call("getSignaturesForAddress", Json::array({program, options}));
      if (!page.is_array()) throw RpcUnavailable("getSignaturesForAddress did not answer an array");
      const auto page_size = page.size();
      for (auto& entry : page) {
        if (!entry.is_object() || !entry.contains("signature") || !entry["signature"].is_string() ||
            !entry.contains("slot") || !entry["slot"].is_number_unsigned()) {
          throw RpcUnavailable("getSignaturesForAddress answered an entry without signature and slot");
        }
        entries.push_back(std::move(entry));
      }
      if (page_size < kPageSize || known == cursor_of_.end()) break;  // the gap is closed
      if (entries.size() >= config_.max_backfill) {
        logger_->warn("gap deeper than max_backfill program={} max_backfill={}: the oldest are skipped", program,
                      config_.max_backfill);
        break;
      }
      before = entries.back()["signature"].get<std::string>();
    }
  } catch (const std::exception& e) {
    std::lock_guard lock(mutex_);
    ++rpc_errors_;
    logger_->warn("backfill walk failed program={} reason=\"{}\"", program, e.what());
    return false;
  }

  if (known == cursor_of_.end()) {
    // A program seen for the first time: start from its newest transaction
    // rather than replay its whole history.
    if (!entries.empty()) {
      Cursor cursor{entries.front()["signature"].get<std::string>(), entries.front()["slot"].get<std::uint64_t>()};
      cursors_.advance(program, cursor);
      cursor_of_[program] = cursor;
      logger_->info("cursor started program={} slot={}", program, cursor.slot);
    }
    return true;
  }
  if (entries.size() > config_.max_backfill) entries.resize(config_.max_backfill);

  std::size_t since_saved = 0;
  std::optional<Cursor> reached;
  const auto save = [&] {
    flushRemembered();
    if (!reached) return;
    cursors_.advance(program, *reached);
    cursors_.forgetBefore(program, reached->slot);
    cursor_of_[program] = *reached;
    since_saved = 0;
  };
  std::reverse(entries.begin(), entries.end());  // oldest first
  for (std::size_t first = 0; first < entries.size(); first += kFetchBatch) {
    const auto last = std::min(entries.size(), first + kFetchBatch);
    // The transactions of this chunk not published yet, fetched in one batched request.
    std::vector<std::pair<std::string, Json>> calls;
    for (std::size_t i = first; i < last; ++i) {
      const auto& signature = entries[i]["signature"].get_ref<const std::string&>();
      if (published_.contains(signature)) continue;
      calls.emplace_back("getTransaction", Json::array({signature, Json{{"encoding", "json"},
                                                                        {"maxSupportedTransactionVersion", 0},
                                                                        {"commitment", config_.commitment}}}));
    }
    std::vector<std::optional<Json>> answers;
    try {
      answers = rpc_->callBatch(calls);
    } catch (const std::exception& e) {
      std::lock_guard lock(mutex_);
      ++rpc_errors_;
      logger_->warn("getTransaction failed program={} count={} reason=\"{}\"", program, calls.size(), e.what());
      save();
      return false;
    }
    std::size_t answer = 0;
    for (std::size_t i = first; i < last; ++i) {
      const auto& signature = entries[i]["signature"].get_ref<const std::string&>();
      if (!published_.contains(signature)) {
        const auto& transaction = answers[answer++];
        if (!transaction || transaction->is_null()) {
          // An error for this one, or listed but not yet served at this
          // commitment: the cursor stops before it and the next walk takes it.
          logger_->debug("transaction not available yet signature={}", signature);
          save();
          return true;
        }
        auto built = buildFromTransaction(*transaction, program, builder_);
        if (!built.ok()) {
          std::lock_guard lock(mutex_);
          ++malformed_;
          logger_->warn("malformed getTransaction answer signature={} reason=\"{}\"", signature, built.error);
        } else {
          built.event["source"] = "backfill";
          publishTransaction(program, built.event, false);
        }
      }
      reached = Cursor{signature, entries[i]["slot"].get<std::uint64_t>()};
      if (++since_saved >= kCursorEvery) save();
    }
  }
  save();
  return true;
}

void Listener::watchSignature(const std::string& signature, const std::string& commitment) {
  {
    std::lock_guard lock(mutex_);
    if (watches_.contains(signature)) return;
    watches_[signature] = {commitment, std::chrono::steady_clock::now(), 0};
  }
  subscribeWatch(signature);
  // It may have landed before the subscription: ask once now too.
  post([this] { checkWatches(); });
}

void Listener::subscribeWatch(const std::string& signature) {
  std::string commitment;
  {
    std::lock_guard lock(mutex_);
    auto it = watches_.find(signature);
    if (it == watches_.end()) return;
    commitment = it->second.commitment;
  }
  const auto handle = pubsub_->subscribe(
      "signatureSubscribe", Json::array({signature, Json{{"commitment", commitment}}}), "signatureUnsubscribe",
      [this, signature, commitment](const Json& result) {
        const auto slot = result.contains("context") ? result["context"].value("slot", std::uint64_t{0}) : 0;
        const auto err = result.contains("value") && result["value"].is_object()
                             ? result["value"].value("err", Json(nullptr))
                             : Json(nullptr);
        post([=, this] { settleWatch(signature, slot, err, err.is_null() ? commitment : "failed"); });
      },
      true);
  std::lock_guard lock(mutex_);
  if (auto it = watches_.find(signature); it != watches_.end()) it->second.handle = handle;
}

void Listener::checkWatches() {
  std::vector<std::string> signatures;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [signature, watch] : watches_) signatures.push_back(signature);
  }
  // getSignatureStatuses takes at most 256 signatures per call.
  for (std::size_t first = 0; first < signatures.size(); first += 256) {
    const auto count = std::min<std::size_t>(256, signatures.size() - first);
    const std::vector<std::string> batch(signatures.begin() + static_cast<long>(first),
                                         signatures.begin() + static_cast<long>(first + count));
    Json answer;
    try {
      answer = rpc_->call("getSignatureStatuses", Json::array({batch, Json{{"searchTransactionHistory", true}}}));
    } catch (const std::exception& e) {
      std::lock_guard lock(mutex_);
      ++rpc_errors_;
      logger_->warn("getSignatureStatuses failed reason=\"{}\"", e.what());
      return;
    }
    const auto values = answer.is_object() ? answer.value("value", Json::array()) : Json::array();
    for (std::size_t i = 0; i < batch.size() && i < values.size(); ++i) {
      const auto& status = values[i];
      if (!status.is_object()) continue;  // not landed yet
      const auto err = status.value("err", Json(nullptr));
      const auto reached = status.value("confirmationStatus", std::string("processed"));
      const auto slot = status.value("slot", std::uint64_t{0});
      std::string wanted;
      {
        std::lock_guard lock(mutex_);
        auto it = watches_.find(batch[i]);
        if (it == watches_.end()) continue;
        wanted = it->second.commitment;
      }
      if (!err.is_null()) {
        settleWatch(batch[i], slot, err, "failed");
      } else if (commitmentRank(reached) >= commitmentRank(wanted)) {
        settleWatch(batch[i], slot, err, wanted);
      }
    }
  }
}

void Listener::expireWatches() {
  post([this] {
    checkWatches();
    std::vector<std::string> expired;
    {
      std::lock_guard lock(mutex_);
      const auto now = std::chrono::steady_clock::now();
      for (const auto& [signature, watch] : watches_) {
        if (now - watch.since >= config_.watch_timeout) expired.push_back(signature);
      }
    }
    for (const auto& signature : expired) settleWatch(signature, 0, nullptr, "expired");
  });
}

void Listener::settleWatch(const std::string& signature, std::uint64_t slot, const Json& err,
                           const std::string& status) {
  std::uint64_t handle = 0;
  {
    std::lock_guard lock(mutex_);
    auto it = watches_.find(signature);
    if (it == watches_.end()) return;  // settled already: the outcome goes out once
    handle = it->second.handle;
    watches_.erase(it);
  }
  pubsub_->unsubscribe(handle);
  publish_("solana:tx:" + signature, eventText(Json{{"type", "SolanaSignatureStatus"},
                                                    {"signature", signature},
                                                    {"slot", slot == 0 ? Json(nullptr) : Json(slot)},
                                                    {"err", err},
                                                    {"status", status}}));
}

Json Listener::status() const {
  auto programs = Json::object();
  std::lock_guard lock(mutex_);
  for (const auto& [program, stats] : stats_) {
    const auto cursor = cursors_.load(program);
    programs[program] = Json{{"live", stats.live},
                             {"backfilled", stats.backfilled},
                             {"cursor", cursor ? Json{{"signature", cursor->signature}, {"slot", cursor->slot}}
                                               : Json(nullptr)}};
  }
  auto pubsub = pubsub_->status();
  const auto malformed = malformed_ + pubsub["malformed"].get<std::uint64_t>();
  return Json{{"pubsub", std::move(pubsub)},
              {"programs", std::move(programs)},
              {"duplicates", duplicates_},
              {"malformed", malformed},
              {"rpc_errors", rpc_errors_},
              {"watching", watches_.size()},
              {"naming_rpc", naming_rpc_.summary()}};
}

}  // namespace eventnode::plugins::solana_listener
