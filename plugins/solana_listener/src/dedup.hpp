#pragma once
// The signatures published most recently, so a transaction seen both live and
// in a backfill is published once.
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace eventnode::plugins::solana_listener {

/// A set of at most `capacity` signatures; inserting into a full set forgets
/// the oldest. Lookups and inserts are O(1). Not thread-safe: one owner thread.
class RecentSignatures {
 public:
  /// Throws std::invalid_argument when capacity is 0.
  explicit RecentSignatures(std::size_t capacity);

  /// Adds `signature`; false (and nothing changes) when it is already present.
  bool insert(std::string_view signature);
  bool contains(std::string_view signature) const;

  std::size_t size() const { return index_.size(); }
  std::size_t capacity() const { return ring_.size(); }
  void clear();

 private:
  // The set holds views into ring_'s strings; ring_ never reallocates, and a
  // slot's view is erased before the slot is overwritten.
  std::vector<std::string> ring_;
  std::size_t next_ = 0;
  std::unordered_set<std::string_view> index_;
};

}  // namespace eventnode::plugins::solana_listener
