#include "dedup.hpp"

#include <stdexcept>

namespace eventnode::plugins::solana_listener {

RecentSignatures::RecentSignatures(std::size_t capacity) {
  if (capacity == 0) throw std::invalid_argument("recent signature capacity must be at least 1");
  ring_.resize(capacity);
  index_.reserve(capacity);
}

bool RecentSignatures::insert(std::string_view signature) {
  if (index_.contains(signature)) return false;
  auto& slot = ring_[next_];
  if (index_.size() == ring_.size()) index_.erase(slot);
  slot.assign(signature);
  index_.insert(slot);
  next_ = (next_ + 1) % ring_.size();
  return true;
}

bool RecentSignatures::contains(std::string_view signature) const {
  return index_.contains(signature);
}

void RecentSignatures::clear() {
  index_.clear();
  for (auto& slot : ring_) slot.clear();
  next_ = 0;
}

}  // namespace eventnode::plugins::solana_listener
