#include "topics/topic_rules.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace eventnode::core {
namespace {

using namespace std::chrono_literals;
using plugin::Identity;
using plugin::TopicAccess;

TopicPolicy rule(std::string pattern, TopicAccess access, HistoryPolicy history = {}) {
  return TopicPolicy{std::move(pattern), access, history, "node.yaml"};
}

Identity anonymous() {
  return Identity{};
}
Identity user(std::string name, std::vector<std::string> roles = {}) {
  return Identity{std::move(name), std::move(roles), true};
}

TEST(TopicMatches, MatchesExactPatternsAndStarSuffixes) {
  struct Case {
    const char* pattern;
    const char* topic;
    bool matches;
  };
  const Case cases[] = {
      {"prices", "prices", true},    {"prices", "prices2", false},      {"prices", "price", false},
      {"prices", "Prices", false},   {"prices.*", "prices.btc", true},  {"prices.*", "prices.btc.usd", true},
      {"prices.*", "prices", false}, {"prices.*", "pricesXbtc", false}, {"prices*", "prices", true},
      {"prices*", "prices2", true},  {"*", "anything:at/all", true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.pattern) + " vs " + c.topic);
    EXPECT_EQ(topicMatches(c.pattern, c.topic), c.matches);
  }
}

TEST(TopicMatches, CapturesSubWithAndWithoutSuffix) {
  struct Case {
    const char* pattern;
    const char* topic;
    bool matches;
    const char* sub;
  };
  const Case cases[] = {
      {"user:{sub}", "user:alice", true, "alice"},
      {"user:{sub}", "user:a", true, "a"},
      {"user:{sub}", "user:", false, ""},
      {"user:{sub}", "users:alice", false, ""},
      {"user:{sub}", "user", false, ""},
      {"user:{sub}:orders", "user:alice:orders", true, "alice"},
      {"user:{sub}:orders", "user:alice:trades", false, ""},
      {"user:{sub}:orders", "user::orders", false, ""},
      {"user:{sub}:orders", "user:alice:orders2", false, ""},
      {"user:{sub}:orders", "user:alice", false, ""},
      {"user:{sub}:orders.*", "user:alice:orders.eu", true, "alice"},
      {"user:{sub}:orders.*", "user:alice:orders", false, ""},
      {"{sub}.inbox", "bob.inbox", true, "bob"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.pattern) + " vs " + c.topic);
    std::string_view sub = "untouched";
    EXPECT_EQ(topicMatches(c.pattern, c.topic, &sub), c.matches);
    EXPECT_EQ(sub, c.matches ? c.sub : "untouched");
  }
}

TEST(TopicMatches, NeverMatchesSubFollowedByStar) {
  std::string_view sub;
  EXPECT_FALSE(topicMatches("user:{sub}*", "user:alice", &sub));
  EXPECT_FALSE(topicMatches("user:{sub}*", "user:alice:orders", &sub));
}

TEST(TopicPattern, AcceptsNamesStarSuffixAndOneSub) {
  for (const char* pattern : {"prices", "prices.*", "prices*", "*", "user:{sub}", "user:{sub}:orders",
                              "user:{sub}:orders.*", "{sub}.inbox", "a/b-c_d:e.f"}) {
    SCOPED_TRACE(pattern);
    EXPECT_TRUE(isValidTopicPattern(pattern));
  }
}

TEST(TopicPattern, RefusesMalformedPatterns) {
  for (const char* pattern : {"", "user:{sub}*", "{sub}*", "user:{sub}:{sub}", "{sub}{sub}", "a*b", "**", "*.prices",
                              "a b", "a,b", "a\"b", "a\\b", "pri*ces*"}) {
    SCOPED_TRACE(pattern);
    EXPECT_FALSE(isValidTopicPattern(pattern));
  }
  EXPECT_FALSE(isValidTopicPattern(std::string(257, 'a')));
}

TEST(TopicRules, FirstMatchingRuleWins) {
  TopicRules rules;
  rules.add(rule("prices.secret", TopicAccess::Deny, {1, 0s}));
  rules.add(rule("prices.*", TopicAccess::Public, {100, 60s}));
  rules.add(rule("prices.btc", TopicAccess::Admin, {7, 0s}));  // shadowed by prices.*
  rules.freeze();

  ASSERT_NE(rules.find("prices.secret"), nullptr);
  EXPECT_EQ(rules.find("prices.secret")->access, TopicAccess::Deny);
  ASSERT_NE(rules.find("prices.btc"), nullptr);
  EXPECT_EQ(rules.find("prices.btc")->access, TopicAccess::Public);
  EXPECT_EQ(rules.find("prices.btc")->pattern, "prices.*");
  EXPECT_EQ(rules.find("news"), nullptr);

  EXPECT_EQ(rules.historyFor("prices.btc").size, 100u);
  EXPECT_EQ(rules.historyFor("prices.btc").ttl, 60s);
  EXPECT_EQ(rules.historyFor("prices.secret").size, 1u);
  EXPECT_EQ(rules.historyFor("news").size, 0u);
  EXPECT_EQ(rules.historyFor("news").ttl, 0s);

  std::string reason;
  EXPECT_TRUE(rules.maySubscribe("prices.btc", anonymous(), reason));
  EXPECT_FALSE(rules.maySubscribe("prices.secret", user("root", {"admin"}), reason));
}

TEST(TopicRules, TheCatchAllDecidesOnlyForTopicsNoOtherRuleNames) {
  // node.yaml's rules come first, with "*" among them; a plugin adds its own after.
  TopicRules rules;
  rules.add(rule("user:{sub}", TopicAccess::User, {100, 0s}));
  rules.add(rule("*", TopicAccess::Authenticated, {1000, 600s}));
  rules.add(rule("pow.*", TopicAccess::Admin, {10, 0s}));
  rules.freeze();

  ASSERT_NE(rules.find("pow.generated"), nullptr);
  EXPECT_EQ(rules.find("pow.generated")->access, TopicAccess::Admin) << "the plugin's rule, not the catch-all";
  EXPECT_EQ(rules.find("news")->pattern, "*");
  EXPECT_EQ(rules.find("user:alice")->pattern, "user:{sub}");
  std::string reason;
  EXPECT_FALSE(rules.maySubscribe("pow.generated", user("alice", {"prosumer"}), reason));
  EXPECT_TRUE(rules.maySubscribe("pow.generated", user("root", {"admin"}), reason));
  EXPECT_TRUE(rules.maySubscribe("news", user("alice", {"prosumer"}), reason));
}

TEST(TopicRules, DecidesEachAccessForEachIdentity) {
  TopicRules rules;
  rules.add(rule("public", TopicAccess::Public));
  rules.add(rule("members", TopicAccess::Authenticated));
  rules.add(rule("user:{sub}", TopicAccess::User));
  rules.add(rule("admin", TopicAccess::Admin));
  rules.add(rule("internal", TopicAccess::Deny));
  rules.freeze();

  struct Case {
    const char* topic;
    Identity identity;
    bool allowed;
    const char* reason_mentions;
  };
  Identity unauthenticated_bob{"bob", {"admin"}, false};
  const Case cases[] = {
      {"public", anonymous(), true, ""},
      {"public", user("alice"), true, ""},
      {"members", anonymous(), false, "needs a token"},
      {"members", user("alice"), true, ""},
      {"user:alice", user("alice"), true, ""},
      {"user:bob", user("alice"), false, "another user"},
      {"user:alice", anonymous(), false, "another user"},
      {"user:bob", unauthenticated_bob, false, "another user"},
      {"user:bob", user("alice", {"admin"}), false, "another user"},
      {"admin", user("alice"), false, "admin role"},
      {"admin", user("alice", {"viewer", "admin"}), true, ""},
      {"admin", anonymous(), false, "admin role"},
      {"internal", user("root", {"admin"}), false, "not open to clients"},
      {"internal", anonymous(), false, "not open to clients"},
      {"elsewhere", user("root", {"admin"}), false, "no topic rule"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.topic) + " for '" + c.identity.user + "'");
    std::string reason;
    EXPECT_EQ(rules.maySubscribe(c.topic, c.identity, reason), c.allowed);
    if (c.allowed) continue;
    EXPECT_NE(reason.find(c.reason_mentions), std::string::npos) << reason;
    EXPECT_NE(reason.find(c.topic), std::string::npos) << reason;
  }
}

TEST(TopicRules, UserPatternDeniesAnotherUsersTopic) {
  TopicRules rules;
  rules.add(rule("user:{sub}", TopicAccess::User));
  rules.add(rule("user:{sub}:orders", TopicAccess::User));
  rules.freeze();
  std::string reason;
  EXPECT_FALSE(rules.maySubscribe("user:bob", user("alice"), reason));
  EXPECT_NE(reason.find("user:bob"), std::string::npos);
  EXPECT_TRUE(rules.maySubscribe("user:alice", user("alice"), reason));
  // "user:{sub}" captures everything after "user:", so alice cannot reach bob's sub-topics either.
  EXPECT_FALSE(rules.maySubscribe("user:bob:orders", user("alice"), reason));
  EXPECT_FALSE(rules.maySubscribe("user:alice:orders", user("bob"), reason));
}

TEST(TopicRules, AddRefusesMalformedPatternsNamingThem) {
  TopicRules rules;
  for (const char* pattern : {"user:{sub}*", "a:{sub}:{sub}", "", "a b"}) {
    SCOPED_TRACE(pattern);
    try {
      rules.add(rule(pattern, TopicAccess::Public));
      ADD_FAILURE() << "accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("'" + std::string(pattern) + "'"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(rules.find("a b"), nullptr);
}

TEST(TopicRules, AddAfterFreezeThrows) {
  TopicRules rules;
  rules.add(rule("prices", TopicAccess::Public));
  rules.freeze();
  EXPECT_THROW(rules.add(rule("news", TopicAccess::Public)), std::logic_error);
  EXPECT_EQ(rules.find("news"), nullptr);
  EXPECT_NE(rules.find("prices"), nullptr);
}

}  // namespace
}  // namespace eventnode::core
