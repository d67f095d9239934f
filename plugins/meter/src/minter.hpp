#pragma once
// Batch minting, on a thread of its own: every `interval` or `batch_size`
// pending readings a batch opens; its mints are built into signed
// MintToChecked transactions, each stored before it is sent, confirmed
// through solana_listener's signature watch on the bus (solana:watch →
// solana:tx:<sig>) or, when no answer comes within `listener_grace`, by
// getSignatureStatuses; then TokensMinted to each owner and
// BatchMintingCompleted to the admins.
//
// Exactly once: a transaction's signature and bytes are in SQLite before
// sendTransaction. After a crash the stored signature's status decides:
// landed → confirmed; not landed and its blockhash expired → its mints are
// built anew; otherwise it is sent again (same bytes, same signature) and awaited.
#include "meter_settings.hpp"
#include "meter_store.hpp"
#include "mint_transactions.hpp"

#include <eventnode/plugin/host.hpp>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace eventnode::plugins::solana_listener {
class RpcClient;
class RpcError;
}  // namespace eventnode::plugins::solana_listener

namespace eventnode::plugins::meter {

class Minter {
 public:
  /// Reads the authority keypair (throws std::invalid_argument naming the file).
  Minter(const MintSettings& settings, MeterStore& store, plugin::Host& host);
  ~Minter();

  /// Subscribes to the signature answers and starts the thread.
  void start();
  /// Stops the thread (an RPC call under way ends within rpc_timeout).
  void stop();

  /// A reading was stored: a batch may be due.
  void readingStored();

  /// What /api/meters/status shows.
  plugin::Json status();

 private:
  void registerMetrics();
  void run();
  void step();
  bool batchDue();
  /// Returns true when the batch completed.
  bool progress(std::int64_t batch_id);
  void settleUnsettled(std::int64_t batch_id);
  void sendUnsent(std::int64_t batch_id);
  /// Whether a transaction the node refused is on chain all the same (from an earlier send).
  bool landedAlready(const std::string& signature, const solana_listener::RpcError& refusal);
  void announce();
  void watch(const std::string& signature);
  void onBusAnswer(const plugin::Json& data);
  void healthy();
  void unreachable(const std::string& reason);
  void sleepFor(std::chrono::milliseconds delay);

  MintSettings settings_;
  MeterStore& store_;
  plugin::Host& host_;
  std::shared_ptr<spdlog::logger> logger_;
  Keypair authority_;
  MintSetup setup_;
  std::unique_ptr<solana_listener::RpcClient> rpc_;  // the thread's own

  std::thread thread_;
  std::atomic<bool> running_{false};
  plugin::SubscriptionId subscription_ = 0;

  std::mutex mutex_;  // guards what follows
  std::condition_variable wake_;
  bool nudged_ = false;
  std::map<std::string, std::int64_t> watched_;  // signature → when the watch was asked (ms)
  std::map<std::string, plugin::Json> answers_;  // signature → the listener's SolanaSignatureStatus
  std::int64_t last_batch_ms_ = 0;
  std::int64_t down_since_ms_ = 0;  // 0 while the RPC answers
  std::int64_t down_reported_ms_ = 0;
  std::string down_reason_;
  std::int64_t batches_completed_ = 0;
  std::int64_t transactions_sent_ = 0;
  std::int64_t settled_by_listener_ = 0;
  std::int64_t settled_by_polling_ = 0;
};

}  // namespace eventnode::plugins::meter
