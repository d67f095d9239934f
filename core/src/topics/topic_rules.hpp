#pragma once
// Topic access rules and history policies: node.yaml's `topics` list first,
// then the rules plugins add; the first rule whose pattern matches decides,
// except that a bare "*" only decides for topics no other rule matches.
#include <eventnode/plugin/http.hpp>
#include <eventnode/plugin/websocket.hpp>

#include "topics/topic_pattern.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace eventnode::core {

struct HistoryPolicy {
  std::size_t size = 0;         ///< events kept; 0 keeps none (no recovery)
  std::chrono::seconds ttl{0};  ///< events older than this are dropped; 0 keeps them until size pushes them out
};

struct TopicPolicy {
  std::string pattern;
  plugin::TopicAccess access = plugin::TopicAccess::Deny;
  HistoryPolicy history;
  std::string owner;  ///< "node.yaml" or the plugin that added it
};

class TopicRules {
 public:
  /// Throws std::invalid_argument for a malformed pattern, std::logic_error after freeze().
  void add(TopicPolicy policy);
  void freeze() { frozen_ = true; }

  /// The first matching rule, or nullptr (nobody may subscribe). Thread-safe once frozen.
  const TopicPolicy* find(std::string_view topic) const;

  /// Whether `identity` may subscribe to `topic`; when not, `reason` says why.
  bool maySubscribe(std::string_view topic, const plugin::Identity& identity, std::string& reason) const;

  HistoryPolicy historyFor(std::string_view topic) const;

 private:
  std::vector<TopicPolicy> rules_;
  bool frozen_ = false;
};

}  // namespace eventnode::core
