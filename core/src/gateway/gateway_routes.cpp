#include "gateway/gateway_routes.hpp"

#include <algorithm>

namespace eventnode::core {
namespace {

using plugin::HttpRequest;
using plugin::HttpResponse;
using plugin::Json;

/// Parses a JSON body, or says what is wrong with it.
std::optional<HttpResponse> parseBody(const HttpRequest& request, Json& body) {
  if (auto refusal = plugin::refuseNonJsonBody(request)) return refusal;
  auto read = plugin::readJson(request.body);
  if (!read.ok()) return HttpResponse::error(400, "bad_json", "the body is refused: " + read.error);
  body = std::move(read.value);
  return std::nullopt;
}

/// Checks one {"topic","data"} item; returns the refusal, if any.
std::optional<HttpResponse> checkItem(const Json& item, const std::string& where) {
  if (!item.is_object())
    return HttpResponse::error(400, "bad_request", where + " must be an object {\"topic\",\"data\"}");
  const auto topic = item.find("topic");
  if (topic == item.end() || !topic->is_string())
    return HttpResponse::error(400, "bad_request", where + ".topic must be a string");
  if (!isValidTopic(topic->get_ref<const std::string&>())) {
    return HttpResponse::error(400, "bad_topic",
                               where + ".topic: " + kTopicNameRule);
  }
  if (!item.contains("data")) return HttpResponse::error(400, "bad_request", where + ".data is missing");
  if (const auto key = item.find("idempotency_key"); key != item.end()) {
    const bool valid = key->is_string() && !key->get_ref<const std::string&>().empty() &&
                       key->get_ref<const std::string&>().size() <= 128 &&
                       std::all_of(key->get_ref<const std::string&>().begin(), key->get_ref<const std::string&>().end(),
                                   [](char c) { return c > ' ' && c < 127; });
    if (!valid)
      return HttpResponse::error(400, "bad_request",
                                 where + ".idempotency_key must be 1 to 128 printable characters without space");
  }
  return std::nullopt;
}

/// The item's idempotency key, or "" (checked by checkItem).
std::string idempotencyKey(const Json& item) {
  const auto key = item.find("idempotency_key");
  return key == item.end() ? std::string() : key->get<std::string>();
}

/// The HTTP status and error code of a publish that was not accepted.
std::pair<int, const char*> refusalOf(plugin::PublishStatus status) {
  switch (status) {
    case plugin::PublishStatus::RateLimited:
      return {429, "rate_limited"};
    case plugin::PublishStatus::Unavailable:
      return {503, "unavailable"};
    default:
      return {400, "refused"};
  }
}

/// {"offset":N} for an accepted publish, the error that says why for any other.
HttpResponse answerFor(const plugin::PublishResult& result, const char* topic_key = nullptr) {
  if (!result.accepted()) {
    const auto [status, code] = refusalOf(result.status);
    return HttpResponse::error(status, code, result.reason);
  }
  Json body{{"offset", result.offset}};
  if (topic_key) body["topic"] = topic_key;
  return HttpResponse::json(200, body);
}

}  // namespace

void addGatewayRoutes(HttpRouter& router, Gateway& gateway, const EventBus& bus, const MetricRegistry& metrics) {
  router.add({"POST", "/api/v1/publish", plugin::RouteAccess::Admin,
              [&gateway](const HttpRequest& request) {
                Json body;
                if (auto error = parseBody(request, body)) return *error;
                if (body.is_array()) {
                  if (body.empty()) return HttpResponse::error(400, "bad_request", "the batch is empty");
                  // Checked whole before anything is published: a batch is all or nothing.
                  for (std::size_t i = 0; i < body.size(); ++i) {
                    if (auto error = checkItem(body[i], "[" + std::to_string(i) + "]")) return *error;
                  }
                  // Each item is published on its own: one over a user's limit does not hold back the rest,
                  // and the answer says which were not delivered (offset null, and why under "refused").
                  Json offsets = Json::array();
                  Json refused = Json::array();
                  std::vector<Gateway::BatchItem> items;
                  items.reserve(body.size());
                  for (std::size_t i = 0; i < body.size(); ++i)
                    items.push_back({body[i]["topic"].get_ref<const std::string&>(), body[i]["data"],
                                     idempotencyKey(body[i])});
                  const auto results = gateway.publishMany(items);
                  for (std::size_t i = 0; i < body.size(); ++i) {
                    const auto& result = results[i];
                    if (result.accepted()) {
                      offsets.push_back(result.offset);
                      continue;
                    }
                    offsets.push_back(nullptr);
                    refused.push_back({{"index", i}, {"code", refusalOf(result.status).second}, {"message", result.reason}});
                  }
                  Json answer{{"offsets", offsets}};
                  if (!refused.empty()) answer["refused"] = refused;
                  return HttpResponse::json(200, answer);
                }
                if (auto error = checkItem(body, "body")) return *error;
                return answerFor(gateway.publish(body["topic"], body["data"], idempotencyKey(body)));
              }},
             "core");
  router.add({"POST", "/api/ws/broadcast", plugin::RouteAccess::Admin,
              [&gateway](const HttpRequest& request) {
                Json body;
                if (auto error = parseBody(request, body)) return *error;
                if (!body.is_object() || !body.contains("data")) {
                  return HttpResponse::error(400, "bad_request", "expected {\"data\":{…}}");
                }
                return answerFor(gateway.publish("broadcast", body["data"]), "broadcast");
              }},
             "core");
  router.add({"GET", "/api/ws/connections", plugin::RouteAccess::Admin,
              [&gateway](const HttpRequest& request) {
                const auto scope = request.query.find("scope");
                if (scope == request.query.end() || scope->second == "server")
                  return HttpResponse::json(200, gateway.stats());
                if (scope->second != "cluster")
                  return HttpResponse::error(400, "bad_request", "scope must be server (the default) or cluster");
                try {
                  return HttpResponse::json(200, gateway.clusterStats());
                } catch (const BrokerUnavailable& error) {
                  return HttpResponse::error(503, "unavailable", error.what());
                }
              }},
             "core");
  router.add({"GET", "/metrics", plugin::RouteAccess::Public,
              [&gateway, &bus, &metrics](const HttpRequest&) {
                return HttpResponse{200, "text/plain; version=0.0.4",
                                    gateway.metrics().render() + bus.renderMetrics() + metrics.render(), {}};
              }},
             "core");
}

}  // namespace eventnode::core
