#pragma once
// Which Redis shard holds a topic: a jump consistent hash (Lamping & Veach)
// over FNV-1a-64 of the name, as Centrifuge places channels. Adding a shard
// moves only about 1/n of the topics, and no hash tags are involved, so the
// shards stay evenly loaded whatever the topic names look like.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace eventnode::core {

std::uint64_t fnv1a64(std::string_view text);

/// A bucket in [0, buckets) for `key`; buckets must be at least 1.
std::size_t jumpConsistentHash(std::uint64_t key, std::size_t buckets);

inline std::size_t shardOf(std::string_view topic, std::size_t shards) {
  return jumpConsistentHash(fnv1a64(topic), shards);
}

}  // namespace eventnode::core
