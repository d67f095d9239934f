#include "engine.hpp"

#include <algorithm>
#include <chrono>

namespace eventnode::plugins::utxo {
namespace {

// Enough to amortize a commit over a burst, small enough that the first
// command in a batch is not kept waiting long for the last.
constexpr std::size_t kMaxBatch = 256;

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

Engine::Engine(std::unique_ptr<Ledger> ledger, std::unique_ptr<LedgerStore> store,
               std::shared_ptr<spdlog::logger> logger, Deliver deliver)
    : ledger_(std::move(ledger)), store_(std::move(store)), logger_(std::move(logger)), deliver_(std::move(deliver)) {
  store_->load(*ledger_);
}

Engine::~Engine() { stop(); }

void Engine::start() {
  std::lock_guard lock(queue_mutex_);
  if (started_) return;
  started_ = true;
  accepting_ = true;
  thread_ = std::thread([this] { run(); });
}

void Engine::stop() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_ready_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Commands queued after the thread ended get an answer, not a hang.
  std::deque<Command> left;
  {
    std::lock_guard lock(queue_mutex_);
    left.swap(queue_);
  }
  for (auto& command : left) {
    if (command.done) command.done(nullptr);
  }
}

void Engine::postDetached(std::function<void(Ledger&, Effects&, std::int64_t)> apply) {
  enqueue({std::move(apply), {}});
}

bool Engine::waitCommitted() {
  // Commands are applied and saved in queue order, so an empty command's batch
  // commits after everything queued before it.
  auto done = post<bool>([](Ledger&, Effects&, std::int64_t) { return true; });
  try {
    return done.get();
  } catch (const std::exception&) {
    return false;
  }
}

Engine::Stats Engine::stats() const {
  std::lock_guard lock(queue_mutex_);
  return {batches_, commands_, queue_.size(), commit_ms_total_, commit_ms_max_};
}

void Engine::enqueue(Command command) {
  {
    std::lock_guard lock(queue_mutex_);
    if (accepting_) {
      queue_.push_back(std::move(command));
      queue_ready_.notify_one();
      return;
    }
  }
  if (command.done) command.done(nullptr);
}

void Engine::run() {
  std::vector<Command> batch;
  batch.reserve(kMaxBatch);
  for (;;) {
    {
      std::unique_lock lock(queue_mutex_);
      queue_ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        accepting_ = false;
        return;
      }
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    Effects effects;
    std::vector<std::exception_ptr> errors(batch.size());
    std::exception_ptr commit_error;
    double commit_ms = 0;
    {
      std::unique_lock lock(ledger_mutex_);
      const auto now = unixNow();
      for (std::size_t i = 0; i < batch.size(); ++i) {
        try {
          batch[i].apply(*ledger_, effects, now);
        } catch (...) {
          errors[i] = std::current_exception();
        }
      }
      const auto save_started = std::chrono::steady_clock::now();
      try {
        store_->save(*ledger_, effects);
      } catch (const std::exception& e) {
        // The ledger in memory is now ahead of the file: nothing of this batch
        // is announced, and every caller hears that it failed.
        logger_->error("cannot save a batch of {} commands: {}", batch.size(), e.what());
        commit_error = std::current_exception();
      }
      commit_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - save_started).count();
    }
    if (!commit_error) {
      try {
        deliver_(effects);
      } catch (const std::exception& e) {
        logger_->error("delivering a batch failed: {}", e.what());
      }
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].done) {
        batch[i].done(commit_error ? commit_error : errors[i]);
      } else if (errors[i]) {
        try {
          std::rethrow_exception(errors[i]);
        } catch (const std::exception& e) {
          logger_->warn("a command nobody waits for failed: {}", e.what());
        }
      }
    }
    {
      std::lock_guard lock(queue_mutex_);
      ++batches_;
      commands_ += batch.size();
      commit_ms_total_ += commit_ms;
      commit_ms_max_ = std::max(commit_ms_max_, commit_ms);
    }
    batch.clear();
  }
}

}  // namespace eventnode::plugins::utxo
