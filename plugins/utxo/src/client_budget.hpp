#pragma once
/// A per-client budget for work that costs CPU: one token bucket per client
/// (an IPv4 address, or an IPv6 /64), refilled at `rate` tokens a second up to
/// `burst`. A request may start while its client's bucket is above zero, and
/// its cost is taken once known, possibly into debt that the refill repays:
/// the decision comes before the request is even parsed, and a client's long
/// run cost stays at `rate`. Thread-safe: HTTP threads call it at once.
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace eventnode::plugins::utxo {

class ClientBudget {
 public:
  using Clock = std::chrono::steady_clock;

  /// `rate` 0: unlimited (every request is admitted, nothing is tracked).
  /// `max_clients` bounds the memory: past it, buckets that have refilled are
  /// forgotten, and if every one is still in use the newcomers share one bucket.
  ClientBudget(double rate, double burst, std::size_t max_clients = 65536);

  struct Admission {
    bool admitted = true;
    std::chrono::seconds retry_after{0};  ///< when refused: until the bucket is above zero again
  };
  /// Whether `client` may start a request at `now`: its bucket is above zero.
  Admission admit(const std::string& client, Clock::time_point now = Clock::now());
  /// Takes `cost` tokens from `client`'s bucket (down to -cost at most once).
  void charge(const std::string& client, double cost, Clock::time_point now = Clock::now());

  bool unlimited() const { return rate_ <= 0; }
  double rate() const { return rate_; }
  std::size_t clients() const;

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point updated;
  };
  Bucket& bucket(const std::string& client, Clock::time_point now);  ///< refilled up to now; mutex_ held

  const double rate_;
  const double burst_;
  const std::size_t max_clients_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

/// The budget key of a client address: the address itself for IPv4, its /64
/// for IPv6 (one subscriber usually holds a whole /64), the text as given when
/// it does not parse.
std::string clientKey(std::string_view remote_address);

}  // namespace eventnode::plugins::utxo
