#include "outbox_dispatcher.hpp"

#include <eventnode/plugin/backoff.hpp>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/NullStream.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <sys/resource.h>
#include <unistd.h>

namespace eventnode::plugins::pow_batches {
namespace {

constexpr std::size_t kRowsPerRead = 256;
constexpr int kNice = 10;
// Batches (about 70 KiB each in memory) waiting for a recorder before the rest go through the outbox only.
constexpr std::size_t kMaxOffered = 1024;
constexpr auto kFirstBackoff = std::chrono::milliseconds(1000);
constexpr auto kIdlePoll = std::chrono::milliseconds(1000);

}  // namespace

OutboxDispatcher::OutboxDispatcher(RecorderConfig config, std::size_t index, BatchStore& store, plugin::Host& host)
    : config_(std::move(config)), index_(index), store_(store), host_(host), logger_(host.logger()) {}

OutboxDispatcher::~OutboxDispatcher() {
  stop();
}

void OutboxDispatcher::start() {
  thread_ = std::thread([this] { run(); });
}

void OutboxDispatcher::notify() {
  {
    std::lock_guard lock(mutex_);
    notified_ = true;
  }
  wake_.notify_one();
}

void OutboxDispatcher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void OutboxDispatcher::offer(const std::vector<std::shared_ptr<const RecordedBatch>>& batches) {
  {
    std::lock_guard lock(mutex_);
    notified_ = true;
    for (const auto& batch : batches) {
      // Full: this recorder is behind. What is held is delivered first, the
      // rest is read from the outbox afterwards.
      if (overflowed_ || offered_.size() >= kMaxOffered) {
        overflowed_ = true;
        break;
      }
      offered_.push_back({batch->outbox_seqs.at(index_), batch->batch_id, kindName(batch->kind), {}, batch});
    }
  }
  wake_.notify_one();
}

std::vector<OutboxRow> OutboxDispatcher::nextRows() {
  std::vector<OutboxRow> rows;
  {
    std::lock_guard lock(mutex_);
    if (!from_store_) {
      while (!offered_.empty() && rows.size() < kRowsPerRead) {
        // Offered before the outbox was drained, and read from it then.
        if (offered_.front().seq > last_read_seq_) rows.push_back(std::move(offered_.front()));
        offered_.pop_front();
      }
      if (!rows.empty() || !overflowed_) return rows;
      // Rows newer than all of those were left out of memory: read them from the outbox.
      overflowed_ = false;
      from_store_ = true;
    }
  }
  rows = store_.pending(config_.name, kRowsPerRead);
  if (!rows.empty()) last_read_seq_ = rows.back().seq;
  // Every row committed after this read is offered (seqs grow with commits).
  if (rows.size() < kRowsPerRead) from_store_ = false;
  return rows;
}

bool OutboxDispatcher::sleepFor(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, delay, [&] { return stopping_; });
  return !stopping_;
}

void OutboxDispatcher::run() {
  // Delivery to recorders is asynchronous and durable in the outbox; acks are
  // not. When the cores are short, the intake threads go first.
  setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kNice);
  // Retries are paced for the recorder, not spread across clients: no jitter.
  plugin::Backoff backoff(
      {.min = std::min(kFirstBackoff, config_.max_backoff), .max = config_.max_backoff, .full_jitter = false});
  while (true) {
    {
      std::unique_lock lock(mutex_);
      if (stopping_) return;
      notified_ = false;
    }
    std::vector<OutboxRow> rows;
    try {
      rows = nextRows();
    } catch (const std::exception& e) {
      logger_->error("outbox read failed recorder={} error=\"{}\"", config_.name, e.what());
    }
    // Delivered rows are marked in one transaction per pass; a crash before the
    // mark only means they are delivered again (at least once, same batch_id).
    std::vector<std::int64_t> delivered;
    bool stopping = false;
    for (const auto& row : rows) {
      // In order: a row is retried until accepted before the next is tried.
      while (true) {
        const auto error = deliver(row);
        if (error.empty()) {
          delivered.push_back(row.seq);
          delivered_.fetch_add(1);
          backoff.reset();
          break;
        }
        store_.markDelivered(delivered);
        delivered.clear();
        store_.countAttempt(row.seq);
        const auto delay = backoff.next();
        logger_->warn("recorder refused batch recorder={} batch_id={} retry_in_ms={} error=\"{}\"", config_.name,
                      row.batch_id, delay.count(), error);
        if (!sleepFor(delay)) {
          stopping = true;
          break;
        }
      }
      if (stopping) break;
    }
    try {
      store_.markDelivered(delivered);
    } catch (const std::exception& e) {
      logger_->error("outbox update failed recorder={} error=\"{}\"", config_.name, e.what());
    }
    if (stopping) return;
    if (rows.size() == kRowsPerRead) continue;
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, kIdlePoll, [&] { return stopping_ || notified_ || !offered_.empty(); });
  }
}

std::string OutboxDispatcher::deliver(const OutboxRow& row) {
  const auto& message = row.recorded ? row.recorded->message : row.message;
  if (config_.type == "topic") {
    // The recorder message is the event: published as it is, not parsed and printed again. The row stays
    // in the outbox until the node accepts it.
    const auto result = host_.publishText(std::string("pow.") + row.kind, message);
    return result.accepted() ? std::string{} : result.reason;
  }
  try {
    const Poco::URI uri(config_.url);
    if (!session_) {
      // Kept alive between rows: a backlog drains without a connection per batch.
      session_ = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
      session_->setKeepAlive(true);
      session_->setTimeout(
          Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(config_.timeout).count()));
    }
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, uri.getPathAndQuery(),
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    request.setContentType("application/json");
    request.set("Idempotency-Key", row.batch_id);
    request.setKeepAlive(true);
    request.setContentLength(static_cast<std::streamsize>(message.size()));
    session_->sendRequest(request) << message;
    Poco::Net::HTTPResponse response;
    auto& body = session_->receiveResponse(response);
    Poco::NullOutputStream sink;
    Poco::StreamCopier::copyStream(body, sink);
    const auto status = static_cast<int>(response.getStatus());
    if (status >= 200 && status < 300) return {};
    return "HTTP " + std::to_string(status);
  } catch (const Poco::Exception& e) {
    session_.reset();
    return e.displayText();
  }
}

}  // namespace eventnode::plugins::pow_batches
