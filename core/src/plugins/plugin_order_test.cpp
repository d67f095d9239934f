#include "plugins/plugin_order.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace eventnode::core {
namespace {

using Names = std::vector<std::string>;
using Deps = std::map<std::string, Names>;

std::size_t position(const Names& order, const std::string& name) {
  return static_cast<std::size_t>(std::find(order.begin(), order.end(), name) - order.begin());
}

/// Every plugin appears once, after all of its dependencies.
void expectValidOrder(const Names& plugins, const Deps& deps, const Names& order) {
  ASSERT_EQ(order.size(), plugins.size());
  for (const auto& name : plugins) {
    ASSERT_EQ(std::count(order.begin(), order.end(), name), 1) << name;
  }
  for (const auto& [name, requires_list] : deps) {
    for (const auto& dependency : requires_list) {
      EXPECT_LT(position(order, dependency), position(order, name)) << dependency << " must start before " << name;
    }
  }
}

TEST(PluginOrder, EmptyListGivesEmptyOrder) {
  const auto result = orderPlugins({}, {});
  EXPECT_TRUE(result.order.empty());
  EXPECT_TRUE(result.cycle.empty());
}

TEST(PluginOrder, IndependentPluginsKeepConfigOrder) {
  const Names plugins{"zeta", "alpha", "mid", "beta"};
  const auto result = orderPlugins(plugins, {});
  EXPECT_EQ(result.order, plugins);
  EXPECT_TRUE(result.cycle.empty());
}

TEST(PluginOrder, EmptyDependencyListsChangeNothing) {
  const Names plugins{"b", "a"};
  const auto result = orderPlugins(plugins, {{"a", {}}, {"b", {}}});
  EXPECT_EQ(result.order, plugins);
}

TEST(PluginOrder, DependencyStartsBeforeThePluginThatRequiresIt) {
  const Names plugins{"pow_batches", "meter", "utxo"};
  const Deps deps{{"pow_batches", {"meter"}}};
  const auto result = orderPlugins(plugins, deps);
  EXPECT_TRUE(result.cycle.empty());
  EXPECT_EQ(result.order, (Names{"meter", "pow_batches", "utxo"}));
}

TEST(PluginOrder, ChainIsStartedDeepestFirst) {
  const Names plugins{"a", "b", "c", "d"};
  const Deps deps{{"a", {"b"}}, {"b", {"c"}}, {"c", {"d"}}};
  const auto result = orderPlugins(plugins, deps);
  EXPECT_EQ(result.order, (Names{"d", "c", "b", "a"}));
}

TEST(PluginOrder, DiamondStartsTheSharedDependencyOnce) {
  const Names plugins{"top", "left", "right", "bottom"};
  const Deps deps{{"top", {"left", "right"}}, {"left", {"bottom"}}, {"right", {"bottom"}}};
  const auto result = orderPlugins(plugins, deps);
  EXPECT_TRUE(result.cycle.empty());
  expectValidOrder(plugins, deps, result.order);
  EXPECT_EQ(result.order, (Names{"bottom", "left", "right", "top"}));
}

TEST(PluginOrder, UnrelatedPluginsStayInConfigOrderAroundDependencies) {
  const Names plugins{"x", "app", "y", "db", "z"};
  const Deps deps{{"app", {"db"}}};
  const auto result = orderPlugins(plugins, deps);
  expectValidOrder(plugins, deps, result.order);
  EXPECT_EQ(result.order, (Names{"x", "db", "app", "y", "z"}));
}

TEST(PluginOrder, TwoPluginCycleIsReportedAsAPath) {
  const auto result = orderPlugins({"a", "b"}, {{"a", {"b"}}, {"b", {"a"}}});
  EXPECT_TRUE(result.order.empty());
  EXPECT_EQ(result.cycle, (Names{"a", "b", "a"}));
}

TEST(PluginOrder, LongerCycleIsReportedFromItsFirstMemberOnly) {
  // "entry" leads into the cycle but is not part of it.
  const Names plugins{"entry", "a", "b", "c"};
  const Deps deps{{"entry", {"a"}}, {"a", {"b"}}, {"b", {"c"}}, {"c", {"a"}}};
  const auto result = orderPlugins(plugins, deps);
  EXPECT_TRUE(result.order.empty());
  EXPECT_EQ(result.cycle, (Names{"a", "b", "c", "a"}));
}

TEST(PluginOrder, SelfDependencyIsACycle) {
  const auto result = orderPlugins({"ok", "selfish"}, {{"selfish", {"selfish"}}});
  EXPECT_TRUE(result.order.empty());
  EXPECT_EQ(result.cycle, (Names{"selfish", "selfish"}));
}

TEST(PluginOrder, CycleIsReportedEvenAfterValidPlugins) {
  const Names plugins{"a", "b", "c", "d"};
  const Deps deps{{"b", {"a"}}, {"c", {"d"}}, {"d", {"c"}}};
  const auto result = orderPlugins(plugins, deps);
  EXPECT_TRUE(result.order.empty());
  EXPECT_EQ(result.cycle, (Names{"c", "d", "c"}));
}

}  // namespace
}  // namespace eventnode::core
