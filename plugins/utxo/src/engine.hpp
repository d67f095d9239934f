#pragma once
/// Runs the Ledger on one thread. Commands from HTTP handlers, P2P readers and
/// the lock-timeout timer queue up; the thread applies them in arrival order,
/// in batches, saves each batch in one SQLite transaction, and only then hands
/// the batch's effects to the deliver callback (wallets, peers) and completes
/// the callers' futures. Queries read the ledger under a shared lock.
#include "ledger.hpp"
#include "ledger_store.hpp"

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <thread>

namespace eventnode::plugins::utxo {

class Engine {
 public:
  /// Called on the engine's thread after a batch is committed; must not block.
  using Deliver = std::function<void(const Effects&)>;

  /// Loads the store into the ledger. Throws what the store throws.
  Engine(std::unique_ptr<Ledger> ledger, std::unique_ptr<LedgerStore> store, std::shared_ptr<spdlog::logger> logger,
         Deliver deliver);
  ~Engine();  ///< stops
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  void start();
  /// Finishes the queued commands, then joins the thread; idempotent.
  void stop();

  /// Queues `apply`; the future is ready once its batch is durable. If the
  /// engine is stopped the future holds a std::runtime_error.
  template <typename Result>
  std::future<Result> post(std::function<Result(Ledger&, Effects&, std::int64_t now)> apply);

  /// Queues `apply` with nobody waiting for it: a peer's broadcast or vote
  /// (the peer gets no answer), the lock-timeout sweep. Without a future there
  /// is no promise to fulfil, whose std::call_once costs a futex system call
  /// per command. An exception from `apply` is logged; a stopped engine drops
  /// the command.
  void postDetached(std::function<void(Ledger&, Effects&, std::int64_t now)> apply);

  /// Blocks until every command queued before this call is applied and
  /// saved: true when their batches were committed, false when a save failed
  /// or the engine stopped first.
  bool waitCommitted();

  struct Stats {
    std::uint64_t batches = 0;   ///< committed
    std::uint64_t commands = 0;  ///< applied
    std::size_t queued = 0;      ///< waiting now
    double commit_ms_total = 0;  ///< time spent saving batches
    double commit_ms_max = 0;    ///< the slowest save (a slow disk shows here)
  };
  Stats stats() const;

  /// Runs `read` with the ledger under a shared lock (never blocked by I/O
  /// other than a batch's commit).
  template <typename Read>
  auto read(Read&& read) const {
    std::shared_lock lock(ledger_mutex_);
    return read(static_cast<const Ledger&>(*ledger_));
  }

 private:
  struct Command {
    std::function<void(Ledger&, Effects&, std::int64_t)> apply;
    std::function<void(std::exception_ptr)> done;  ///< empty for a detached command
  };
  void enqueue(Command command);
  void run();

  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<LedgerStore> store_;
  std::shared_ptr<spdlog::logger> logger_;
  Deliver deliver_;
  mutable std::shared_mutex ledger_mutex_;
  mutable std::mutex queue_mutex_;
  std::condition_variable queue_ready_;
  std::deque<Command> queue_;
  bool stopping_ = false;
  bool started_ = false;
  bool accepting_ = false;  ///< the thread runs and will take what is queued
  std::uint64_t batches_ = 0;
  std::uint64_t commands_ = 0;
  double commit_ms_total_ = 0;
  double commit_ms_max_ = 0;
  std::thread thread_;
};

template <typename Result>
std::future<Result> Engine::post(std::function<Result(Ledger&, Effects&, std::int64_t)> apply) {
  auto promise = std::make_shared<std::promise<Result>>();
  auto result = std::make_shared<std::optional<Result>>();
  auto future = promise->get_future();
  enqueue({[apply = std::move(apply), result](Ledger& ledger, Effects& effects, std::int64_t now) {
             *result = apply(ledger, effects, now);
           },
           [promise, result](std::exception_ptr error) {
             if (error || !*result) {
               promise->set_exception(error ? error
                                            : std::make_exception_ptr(std::runtime_error("the UTXO engine stopped")));
             } else {
               promise->set_value(std::move(**result));
             }
           }});
  return future;
}

}  // namespace eventnode::plugins::utxo
