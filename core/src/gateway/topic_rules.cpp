#include "gateway/topic_rules.hpp"

#include "bus/event_bus.hpp"

#include <stdexcept>

namespace eventnode::core {
namespace {

constexpr std::string_view kSub = "{sub}";

bool literalMatches(std::string_view pattern, std::string_view text) {
  if (!pattern.empty() && pattern.back() == '*') {
    const auto prefix = pattern.substr(0, pattern.size() - 1);
    return text.substr(0, prefix.size()) == prefix;
  }
  return pattern == text;
}

}  // namespace

bool isValidTopicPattern(std::string_view pattern) {
  if (pattern.empty()) return false;
  auto rest = pattern;
  const bool open_end = rest.back() == '*';
  if (open_end) rest.remove_suffix(1);
  const auto sub = rest.find(kSub);
  // "{sub}*" would not say where the user id ends.
  if (open_end && sub != std::string_view::npos && sub + kSub.size() == rest.size()) return false;
  std::string literal(rest.substr(0, sub));
  if (sub != std::string_view::npos) {
    const auto after = rest.substr(sub + kSub.size());
    if (after.find(kSub) != std::string_view::npos) return false;
    literal += "x";
    literal += after;
  }
  return literal.empty() ? pattern == "*" : isValidTopic(literal);
}

bool topicMatches(std::string_view pattern, std::string_view topic, std::string_view* sub) {
  const auto at = pattern.find(kSub);
  if (at == std::string_view::npos) return literalMatches(pattern, topic);
  const auto prefix = pattern.substr(0, at);
  auto suffix = pattern.substr(at + kSub.size());
  if (topic.substr(0, prefix.size()) != prefix) return false;
  const auto rest = topic.substr(prefix.size());
  const bool open_end = !suffix.empty() && suffix.back() == '*';
  if (open_end) suffix.remove_suffix(1);
  std::string_view captured;
  if (suffix.empty()) {
    if (open_end) return false;  // "{sub}*": refused by isValidTopicPattern
    captured = rest;
  } else {
    const auto end = rest.find(suffix);
    if (end == std::string_view::npos) return false;
    captured = rest.substr(0, end);
    if (!open_end && end + suffix.size() != rest.size()) return false;
  }
  if (captured.empty()) return false;
  if (sub) *sub = captured;
  return true;
}

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
  for (const auto& rule : rules_) {
    if (topicMatches(rule.pattern, topic)) return &rule;
  }
  return nullptr;
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
