#include "topics/topic_rules.hpp"

#include <stdexcept>

namespace eventnode::core {

void TopicRules::add(TopicPolicy policy) {
  if (frozen_)
    throw std::logic_error("topic rule " + policy.pattern + " from " + policy.owner +
                           " added after start(); add rules in start()");
  if (!isValidTopicPattern(policy.pattern)) {
    throw std::invalid_argument("invalid topic pattern '" + policy.pattern + "' from " + policy.owner +
                                ": a topic name, at most one {sub}, and * only at the end");
  }
  rules_.push_back(std::move(policy));
}

const TopicPolicy* TopicRules::find(std::string_view topic) const {
  // "*" alone is the default for topics no other rule names: a plugin's rule
  // for its own topics is not overridden by node.yaml's catch-all before it.
  const TopicPolicy* catch_all = nullptr;
  for (const auto& rule : rules_) {
    if (rule.pattern == "*") {
      if (!catch_all) catch_all = &rule;
      continue;
    }
    if (topicMatches(rule.pattern, topic)) return &rule;
  }
  return catch_all;
}

bool TopicRules::maySubscribe(std::string_view topic, const plugin::Identity& identity, std::string& reason) const {
  const auto* rule = find(topic);
  if (!rule) {
    reason = "no topic rule allows subscribing to '" + std::string(topic) + "'";
    return false;
  }
  using plugin::TopicAccess;
  switch (rule->access) {
    case TopicAccess::Public:
      return true;
    case TopicAccess::Authenticated:
      if (identity.authenticated) return true;
      reason = "topic '" + std::string(topic) + "' needs a token";
      return false;
    case TopicAccess::User: {
      std::string_view sub;
      topicMatches(rule->pattern, topic, &sub);
      if (identity.authenticated && sub == identity.user) return true;
      reason = "topic '" + std::string(topic) + "' belongs to another user";
      return false;
    }
    case TopicAccess::Admin:
      if (identity.isAdmin()) return true;
      reason = "topic '" + std::string(topic) + "' needs the admin role";
      return false;
    case TopicAccess::Deny:
      reason = "topic '" + std::string(topic) + "' is not open to clients";
      return false;
  }
  return false;
}

HistoryPolicy TopicRules::historyFor(std::string_view topic) const {
  const auto* rule = find(topic);
  return rule ? rule->history : HistoryPolicy{};
}

}  // namespace eventnode::core
