#include "topics/topic_pattern.hpp"

#include <algorithm>
#include <string>

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

bool isValidTopic(std::string_view topic) {
  if (topic.empty() || topic.size() > 256) return false;
  return std::all_of(topic.begin(), topic.end(),
                     [](char c) { return c > ' ' && c < 127 && c != '*' && c != ',' && c != '"' && c != '\\'; });
}

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

}  // namespace eventnode::core
