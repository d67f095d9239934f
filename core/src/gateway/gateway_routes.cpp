#include "gateway/gateway_routes.hpp"

namespace eventnode::core {
namespace {

using plugin::HttpRequest;
using plugin::HttpResponse;
using plugin::Json;

/// Parses a JSON body, or says what is wrong with it.
std::optional<HttpResponse> parseBody(const HttpRequest& request, Json& body) {
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
  return std::nullopt;
}

}  // namespace

void addGatewayRoutes(HttpRouter& router, Gateway& gateway, const EventBus& bus) {
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
                  Json offsets = Json::array();
                  for (const auto& item : body) offsets.push_back(gateway.publish(item["topic"], item["data"]));
                  return HttpResponse::json(200, {{"offsets", offsets}});
                }
                if (auto error = checkItem(body, "body")) return *error;
                return HttpResponse::json(200, {{"offset", gateway.publish(body["topic"], body["data"])}});
              }},
             "core");
  router.add({"POST", "/api/ws/broadcast", plugin::RouteAccess::Admin,
              [&gateway](const HttpRequest& request) {
                Json body;
                if (auto error = parseBody(request, body)) return *error;
                if (!body.is_object() || !body.contains("data")) {
                  return HttpResponse::error(400, "bad_request", "expected {\"data\":{…}}");
                }
                return HttpResponse::json(
                    200, {{"topic", "broadcast"}, {"offset", gateway.publish("broadcast", body["data"])}});
              }},
             "core");
  router.add({"GET", "/api/ws/connections", plugin::RouteAccess::Admin,
              [&gateway](const HttpRequest&) { return HttpResponse::json(200, gateway.stats()); }},
             "core");
  router.add({"GET", "/metrics", plugin::RouteAccess::Public,
              [&gateway, &bus](const HttpRequest&) {
                return HttpResponse{200, "text/plain; version=0.0.4", gateway.metrics().render() + bus.renderMetrics(),
                                    {}};
              }},
             "core");
}

}  // namespace eventnode::core
