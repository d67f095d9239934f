#include "client_budget.hpp"

#include <Poco/Net/IPAddress.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>

namespace eventnode::plugins::utxo {
namespace {

// Where the newcomers go once max_clients buckets are all still refilling.
const std::string kOverflowClient = "*";

}  // namespace

ClientBudget::ClientBudget(double rate, double burst, std::size_t max_clients)
    : rate_(rate), burst_(std::max(burst, 1.0)), max_clients_(std::max<std::size_t>(max_clients, 1)) {}

ClientBudget::Bucket& ClientBudget::bucket(const std::string& client, Clock::time_point now) {
  auto it = buckets_.find(client);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_clients_) {
      // A full bucket holds nothing a fresh one would not: forget those.
      std::erase_if(buckets_, [&](const auto& entry) {
        const auto& b = entry.second;
        return b.tokens + rate_ * std::chrono::duration<double>(now - b.updated).count() >= burst_;
      });
    }
    const auto& key = buckets_.size() >= max_clients_ ? kOverflowClient : client;
    it = buckets_.try_emplace(key, Bucket{burst_, now}).first;
  }
  auto& b = it->second;
  if (now > b.updated) {
    b.tokens = std::min(burst_, b.tokens + rate_ * std::chrono::duration<double>(now - b.updated).count());
    b.updated = now;
  }
  return b;
}

ClientBudget::Admission ClientBudget::admit(const std::string& client, Clock::time_point now) {
  if (unlimited()) return {};
  std::lock_guard lock(mutex_);
  const auto& b = bucket(client, now);
  if (b.tokens > 0) return {};
  // Above zero again after -tokens/rate seconds; a whole second at least.
  const auto wait = std::max(1.0, std::ceil((-b.tokens + 1e-9) / rate_));
  return {false, std::chrono::seconds(static_cast<std::int64_t>(wait))};
}

void ClientBudget::charge(const std::string& client, double cost, Clock::time_point now) {
  if (unlimited() || cost <= 0) return;
  std::lock_guard lock(mutex_);
  auto& b = bucket(client, now);
  // Requests admitted together may each take their cost; the debt stays
  // bounded by what they declared and is repaid before the next one starts.
  b.tokens -= cost;
}

std::size_t ClientBudget::clients() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

std::string clientKey(std::string_view remote_address) {
  Poco::Net::IPAddress address;
  if (!Poco::Net::IPAddress::tryParse(std::string(remote_address), address)) return std::string(remote_address);
  if (address.family() != Poco::Net::IPAddress::IPv6) return address.toString();
  if (address.isIPv4Mapped()) {
    const auto* bytes = static_cast<const std::uint8_t*>(address.addr());
    char text[16];
    std::snprintf(text, sizeof text, "%u.%u.%u.%u", bytes[12], bytes[13], bytes[14], bytes[15]);
    return text;
  }
  const auto* bytes = static_cast<const std::uint8_t*>(address.addr());
  char text[32];
  std::snprintf(text, sizeof text, "%02x%02x:%02x%02x:%02x%02x:%02x%02x::/64", bytes[0], bytes[1], bytes[2], bytes[3],
                bytes[4], bytes[5], bytes[6], bytes[7]);
  return text;
}

}  // namespace eventnode::plugins::utxo
