#include "http/http_router.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace eventnode::core {
namespace {

using Outcome = HttpRouter::Outcome;

/// A route whose handler answers with `tag`, so tests can tell which one was found.
plugin::HttpRoute route(const std::string& method, const std::string& pattern, const std::string& tag = "") {
  plugin::HttpRoute r;
  r.method = method;
  r.path_pattern = pattern;
  const auto body = tag.empty() ? method + " " + pattern : tag;
  r.handler = [body](const plugin::HttpRequest&) { return plugin::HttpResponse{200, "text/plain", body, {}}; };
  return r;
}

std::string answer(const HttpRouter::Lookup& lookup) {
  if (lookup.route == nullptr) return "<none>";
  return lookup.route->route.handler(plugin::HttpRequest{}).body;
}

/// Runs `body`, expecting std::logic_error; returns its message.
template <typename Body>
std::string logicError(Body body) {
  try {
    body();
  } catch (const std::logic_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected std::logic_error";
  return {};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(HttpRouter, LiteralRouteIsFound) {
  HttpRouter router;
  router.add(route("GET", "/health"), "core");
  router.add(route("GET", "/api/nodes"), "core");
  router.freeze();
  const auto lookup = router.find("GET", "/api/nodes");
  EXPECT_EQ(lookup.outcome, Outcome::Found);
  ASSERT_NE(lookup.route, nullptr);
  EXPECT_EQ(lookup.route->owner, "core");
  EXPECT_EQ(answer(lookup), "GET /api/nodes");
  EXPECT_TRUE(lookup.params.empty());
}

TEST(HttpRouter, TrailingAndDoubleSlashesDoNotMatter) {
  HttpRouter router;
  router.add(route("GET", "/api/nodes"), "core");
  router.freeze();
  for (const std::string path : {"/api/nodes", "/api/nodes/", "//api//nodes"}) {
    SCOPED_TRACE(path);
    EXPECT_EQ(router.find("GET", path).outcome, Outcome::Found);
  }
}

TEST(HttpRouter, CapturesAreExtractedAsParams) {
  HttpRouter router;
  router.add(route("POST", "/api/pow/nodes/{id}/jobs/{job}/start"), "pow_batches");
  router.freeze();
  const auto lookup = router.find("POST", "/api/pow/nodes/n-17/jobs/42/start");
  ASSERT_EQ(lookup.outcome, Outcome::Found);
  EXPECT_EQ(lookup.route->owner, "pow_batches");
  EXPECT_EQ(lookup.params, (std::map<std::string, std::string>{{"id", "n-17"}, {"job", "42"}}));
}

TEST(HttpRouter, CaptureMatchesExactlyOneSegment) {
  HttpRouter router;
  router.add(route("GET", "/nodes/{id}"), "core");
  router.freeze();
  EXPECT_EQ(router.find("GET", "/nodes").outcome, Outcome::NotFound);
  EXPECT_EQ(router.find("GET", "/nodes/a/b").outcome, Outcome::NotFound);
  EXPECT_EQ(router.find("GET", "/nodes/a").params.at("id"), "a");
}

TEST(HttpRouter, UnknownPathIsNotFound) {
  HttpRouter router;
  router.add(route("GET", "/api/nodes"), "core");
  router.freeze();
  for (const std::string path : {"/", "/api", "/api/node", "/api/nodes/x", "/API/nodes"}) {
    SCOPED_TRACE(path);
    const auto lookup = router.find("GET", path);
    EXPECT_EQ(lookup.outcome, Outcome::NotFound);
    EXPECT_EQ(lookup.route, nullptr);
    EXPECT_TRUE(lookup.allowed_methods.empty());
  }
}

TEST(HttpRouter, KnownPathWithAnotherMethodIsMethodNotAllowedListingTheMethods) {
  HttpRouter router;
  router.add(route("GET", "/api/nodes/{id}"), "core");
  router.add(route("DELETE", "/api/nodes/{id}"), "core");
  router.add(route("POST", "/api/other"), "core");
  router.freeze();
  const auto lookup = router.find("PUT", "/api/nodes/7");
  EXPECT_EQ(lookup.outcome, Outcome::MethodNotAllowed);
  EXPECT_EQ(lookup.route, nullptr);
  auto methods = lookup.allowed_methods;
  std::sort(methods.begin(), methods.end());
  EXPECT_EQ(methods, (std::vector<std::string>{"DELETE", "GET"}));
}

TEST(HttpRouter, MatchingMethodWinsOverMethodNotAllowed) {
  HttpRouter router;
  router.add(route("POST", "/api/nodes/{id}"), "core");
  router.add(route("GET", "/api/nodes/{id}"), "core");
  router.freeze();
  const auto lookup = router.find("GET", "/api/nodes/7");
  EXPECT_EQ(lookup.outcome, Outcome::Found);
  EXPECT_EQ(answer(lookup), "GET /api/nodes/{id}");
}

TEST(HttpRouter, LiteralRouteBeatsCaptureWhateverTheOrderAdded) {
  for (const bool literal_first : {true, false}) {
    SCOPED_TRACE(literal_first ? "literal added first" : "capture added first");
    HttpRouter router;
    if (literal_first) router.add(route("GET", "/nodes/list"), "core");
    router.add(route("GET", "/nodes/{id}"), "plugin_a");
    if (!literal_first) router.add(route("GET", "/nodes/list"), "core");
    router.freeze();

    const auto literal = router.find("GET", "/nodes/list");
    ASSERT_EQ(literal.outcome, Outcome::Found);
    EXPECT_EQ(answer(literal), "GET /nodes/list");
    EXPECT_TRUE(literal.params.empty());

    const auto captured = router.find("GET", "/nodes/n1");
    ASSERT_EQ(captured.outcome, Outcome::Found);
    EXPECT_EQ(answer(captured), "GET /nodes/{id}");
    EXPECT_EQ(captured.params.at("id"), "n1");
  }
}

TEST(HttpRouter, FewerCapturesWinWhenSeveralRoutesMatch) {
  HttpRouter router;
  router.add(route("GET", "/{a}/{b}"), "core");
  router.add(route("GET", "/x/{b}"), "core");
  router.freeze();
  EXPECT_EQ(answer(router.find("GET", "/x/1")), "GET /x/{b}");
  EXPECT_EQ(answer(router.find("GET", "/y/1")), "GET /{a}/{b}");
}

TEST(HttpRouter, SameShapeRouteClashNamesTheOtherOwner) {
  HttpRouter router;
  router.add(route("GET", "/api/nodes/{id}"), "utxo");
  const auto message = logicError([&] { router.add(route("GET", "/api/nodes/{name}"), "meter"); });
  EXPECT_TRUE(contains(message, "meter")) << message;
  EXPECT_TRUE(contains(message, "utxo")) << message;
  EXPECT_TRUE(contains(message, "/api/nodes/{id}")) << message;
  EXPECT_TRUE(contains(message, "clashes")) << message;
}

TEST(HttpRouter, IdenticalLiteralRouteClashes) {
  HttpRouter router;
  router.add(route("POST", "/api/events"), "core");
  const auto message = logicError([&] { router.add(route("POST", "/api/events/"), "solana_listener"); });
  EXPECT_TRUE(contains(message, "from core")) << message;
}

TEST(HttpRouter, DifferentMethodOrShapeDoesNotClash) {
  HttpRouter router;
  EXPECT_NO_THROW(router.add(route("GET", "/api/nodes/{id}"), "a"));
  EXPECT_NO_THROW(router.add(route("POST", "/api/nodes/{id}"), "b"));
  EXPECT_NO_THROW(router.add(route("GET", "/api/nodes/list"), "c"));
  EXPECT_NO_THROW(router.add(route("GET", "/api/nodes/{id}/stats"), "d"));
  EXPECT_NO_THROW(router.add(route("GET", "/api/nodes"), "e"));
}

TEST(HttpRouter, AddAfterFreezeThrows) {
  HttpRouter router;
  router.add(route("GET", "/a"), "core");
  router.freeze();
  const auto message = logicError([&] { router.add(route("GET", "/b"), "late_plugin"); });
  EXPECT_TRUE(contains(message, "late_plugin")) << message;
  EXPECT_TRUE(contains(message, "/b")) << message;
  EXPECT_EQ(router.find("GET", "/b").outcome, Outcome::NotFound);
}

TEST(HttpRouter, PatternWithoutLeadingSlashThrows) {
  for (const std::string pattern : {"api/nodes", "", "{id}"}) {
    SCOPED_TRACE(pattern);
    HttpRouter router;
    const auto message = logicError([&] { router.add(route("GET", pattern), "plugin_x"); });
    EXPECT_TRUE(contains(message, "must start with /")) << message;
    EXPECT_TRUE(contains(message, "plugin_x")) << message;
  }
}

TEST(HttpRouter, RouteWithoutHandlerThrows) {
  HttpRouter router;
  plugin::HttpRoute r{"GET", "/a", plugin::RouteAccess::Public, {}};
  EXPECT_THROW(router.add(r, "core"), std::logic_error);
}

TEST(HttpRouter, RootRouteMatchesOnlyTheRoot) {
  HttpRouter router;
  router.add(route("GET", "/"), "core");
  router.freeze();
  EXPECT_EQ(router.find("GET", "/").outcome, Outcome::Found);
  EXPECT_EQ(router.find("GET", "/x").outcome, Outcome::NotFound);
}

TEST(HttpRouter, SplitPathDropsEmptySegments) {
  EXPECT_EQ(splitPath("/a/b/"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(splitPath("//a///b"), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(splitPath("/").empty());
  EXPECT_TRUE(splitPath("").empty());
  EXPECT_EQ(splitPath("a"), (std::vector<std::string>{"a"}));
}

}  // namespace
}  // namespace eventnode::core
