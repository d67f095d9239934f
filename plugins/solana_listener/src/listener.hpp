#pragma once
/// Turns Solana's lossy PubSub into a reliable stream of SolanaTransaction
/// events: one logsSubscribe per program, a backfill over HTTP RPC after
/// every (re)connect and on every reconcile tick, dedup by signature, and a
/// per-program cursor in SQLite so a restart backfills too. It also watches
/// signatures other plugins ask about (solana:watch) and reports each outcome
/// once on solana:tx:<signature>.
///
/// Threads: the PubSub client's thread builds live events and queues them;
/// one worker thread publishes, dedups, walks the RPC and moves the cursors,
/// so events leave in the order they were decided and the RPC never blocks
/// the socket.
#include "anchor_events.hpp"
#include "cursor_store.hpp"
#include "dedup.hpp"
#include "event_builder.hpp"
#include "latency_window.hpp"
#include "pubsub_client.hpp"
#include "rpc_client.hpp"

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

namespace eventnode::plugins::solana_listener {

struct ListenerConfig {
  std::string rpc_url = "http://127.0.0.1:8899";
  std::string commitment = "confirmed";
  std::vector<std::string> programs;
  std::vector<std::string> accounts;
  std::chrono::milliseconds rpc_timeout{10000};
  std::chrono::milliseconds reconcile_interval{15000};  ///< the plugin calls reconcile() this often
  std::size_t max_backfill = 10000;       ///< most transactions one walk publishes per program
  std::size_t dedup_capacity = 200000;    ///< signatures remembered
  std::chrono::seconds watch_timeout{90}; ///< a watched signature not landed by then is "expired"
  std::string tls_ca_file;                ///< for rpc_url; see HttpTarget::ca_file (pubsub has its own copy)
  PubSubConfig pubsub;
};

class Listener {
 public:
  /// Publishes an event, printed once as JSON text, on `topic` (the node's
  /// bus); called on the worker thread. A transaction goes out on two topics
  /// from one text. Returns whether the node accepted it: a transaction is
  /// marked published (deduplicated, remembered) only then.
  using Publish = std::function<bool(const std::string& topic, std::string_view event_text)>;

  Listener(ListenerConfig config, const AnchorEventRegistry& events, CursorStore& cursors,
           std::shared_ptr<spdlog::logger> logger, Publish publish);
  ~Listener();  ///< stops
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  void start();
  void stop();

  /// Queues a reconciliation walk of every program (the reconcile timer calls it).
  void reconcile();
  /// Expires watched signatures past watch_timeout (the reconcile timer calls it too).
  void expireWatches();
  /// Watches `signature` until it lands at `commitment` (processed, confirmed
  /// or finalized), fails, or expires; the outcome goes out once on
  /// solana:tx:<signature>. Thread-safe.
  void watchSignature(const std::string& signature, const std::string& commitment);

  /// {"pubsub":{…},"programs":{id:{"cursor","live","backfilled"}},"duplicates","malformed" (notifications
  /// and RPC answers refused, the PubSub client's included),"rpc_errors","watching",
  /// "naming_rpc":{"samples","p50_ms","p99_ms","max_ms"} (the getTransaction round trips that named
  /// the last 1,024 live batches: what a p-token event waits for before it is published)}
  plugin::Json status() const;

 private:
  struct Watch {
    std::string commitment;
    std::chrono::steady_clock::time_point since;
    std::uint64_t handle = 0;
  };
  struct ProgramStats {
    std::uint64_t live = 0;
    std::uint64_t backfilled = 0;
  };

  /// A live event waiting for the worker; consecutive ones are handled together.
  struct LiveEvent {
    std::string program;
    plugin::Json event;
  };
  struct Job {
    std::function<void()> run;
    std::optional<LiveEvent> live;
  };
  void post(std::function<void()> job);
  /// Publishes live events in order, naming p-token instructions of all of
  /// them with one batched getTransaction.
  void publishLive(std::vector<LiveEvent>& batch);
  void runWorker();
  void onLogs(const std::string& program, const plugin::Json& result);
  void publishTransaction(const std::string& program, const plugin::Json& event, bool live);
  /// True when a token program's instruction has no name: its logs (p-token) do not say.
  static bool lacksTokenInstructionNames(const plugin::Json& event);
  /// Walks getSignaturesForAddress from the cursor to now and publishes what
  /// was not published yet, oldest first; false when the RPC failed.
  bool walk(const std::string& program);
  void walkAll();
  /// Stores the signatures published since the last flush (one transaction).
  void flushRemembered();
  void checkWatches();
  void settleWatch(const std::string& signature, std::uint64_t slot, const plugin::Json& err, const std::string& status);
  void subscribeWatch(const std::string& signature);

  ListenerConfig config_;
  EventBuilderConfig builder_;
  CursorStore& cursors_;
  std::shared_ptr<spdlog::logger> logger_;
  Publish publish_;
  std::unique_ptr<PubSubClient> pubsub_;
  std::unique_ptr<RpcClient> rpc_;  ///< worker thread only
  RecentSignatures published_;      ///< worker thread only
  std::map<std::string, Cursor> cursor_of_;  ///< worker thread only
  std::vector<PublishedSignature> remember_;  ///< published, not yet in the store; worker thread only

  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Job> jobs_;
  bool running_ = false;
  bool walk_queued_ = false;
  std::optional<std::chrono::steady_clock::time_point> retry_at_;  ///< a failed walk is tried again then
  std::thread worker_;
  std::map<std::string, Watch> watches_;
  std::map<std::string, ProgramStats> stats_;
  std::uint64_t duplicates_ = 0;
  std::uint64_t malformed_ = 0;
  std::uint64_t rpc_errors_ = 0;
  LatencyWindow naming_rpc_;
};

}  // namespace eventnode::plugins::solana_listener
