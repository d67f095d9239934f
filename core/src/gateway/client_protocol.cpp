#include "gateway/client_protocol.hpp"

#include "topics/topic_pattern.hpp"

namespace eventnode::core {
namespace {

using plugin::Json;

ProtocolError badRequest(std::string message) {
  return {"bad_request", std::move(message)};
}

}  // namespace

std::variant<ClientRequest, ProtocolError> parseClientMessage(std::string_view text) {
  const auto read = plugin::readJson(text);
  if (!read.ok()) return ProtocolError{"bad_json", "expected a JSON object: " + read.error};
  const auto& message = read.value;
  if (!message.is_object()) return ProtocolError{"bad_json", "expected a JSON object"};
  const auto type = message.find("type");
  if (type == message.end() || !type->is_string()) return badRequest("'type' must be a string");
  const auto& name = type->get_ref<const std::string&>();
  ClientRequest request;
  if (name == "ping") {
    request.kind = ClientRequest::Kind::Ping;
    return request;
  }
  if (name == "refresh") {
    request.kind = ClientRequest::Kind::Refresh;
    const auto data = message.find("data");
    if (data == message.end() || !data->is_object()) return badRequest("'data' must be an object with a token");
    const auto token = data->find("token");
    if (token == data->end() || !token->is_string() || token->get_ref<const std::string&>().empty())
      return badRequest("'data.token' must be a JWT string");
    if (token->get_ref<const std::string&>().size() > kMaxRefreshTokenBytes)
      return badRequest("'data.token' is over " + std::to_string(kMaxRefreshTokenBytes) + " bytes");
    request.token = token->get<std::string>();
    return request;
  }
  if (name != "subscribe" && name != "unsubscribe") {
    return ProtocolError{"unknown_type",
                         "unknown type '" + name.substr(0, 64) + "'; use subscribe, unsubscribe, refresh or ping"};
  }
  request.kind = name == "subscribe" ? ClientRequest::Kind::Subscribe : ClientRequest::Kind::Unsubscribe;
  const auto data = message.find("data");
  if (data == message.end() || !data->is_object()) return badRequest("'data' must be an object with a topic");
  const auto topic = data->find("topic");
  if (topic == data->end() || !topic->is_string()) return badRequest("'data.topic' must be a string");
  request.topic = topic->get<std::string>();
  if (!isValidTopic(request.topic)) {
    return ProtocolError{"bad_topic",
                         std::string("topic must be ") + kTopicNameRule};
  }
  if (request.kind == ClientRequest::Kind::Unsubscribe) return request;

  if (const auto since = data->find("since"); since != data->end() && !since->is_null()) {
    if (!since->is_number_unsigned() && !(since->is_number_integer() && since->get<std::int64_t>() >= 0)) {
      return badRequest("'data.since' must be a non-negative integer offset");
    }
    request.since = since->get<std::uint64_t>();
  }
  if (const auto epoch = data->find("epoch"); epoch != data->end() && !epoch->is_null()) {
    if (!epoch->is_string() || epoch->get_ref<const std::string&>().size() > 64) {
      return badRequest("'data.epoch' must be the string the node sent in 'subscribed'");
    }
    request.epoch = epoch->get<std::string>();
  }
  if (const auto filter = data->find("filter"); filter != data->end() && !filter->is_null()) {
    try {
      request.filter = SubscriptionFilter::parse(*filter);
    } catch (const std::invalid_argument& e) {
      return ProtocolError{"bad_filter", e.what()};
    }
  }
  return request;
}

std::string connectedMessage(std::uint64_t connection_id, const plugin::Identity& identity, const std::string& node_id,
                             const std::vector<std::string>& topics) {
  Json message{{"type", "connected"}, {"connection_id", connection_id}, {"node_id", node_id}, {"topics", topics}};
  message["user"] = identity.authenticated ? Json(identity.user) : Json(nullptr);
  message["roles"] = identity.roles;
  return message.dump();
}

std::string subscribedMessage(const std::string& topic, std::uint64_t offset, const std::string& epoch,
                              bool recovered) {
  return Json{{"type", "subscribed"}, {"topic", topic}, {"offset", offset}, {"epoch", epoch}, {"recovered", recovered}}
      .dump();
}

std::string unsubscribedMessage(const std::string& topic) {
  return Json{{"type", "unsubscribed"}, {"topic", topic}}.dump();
}

std::string pongMessage() {
  return R"({"type":"pong"})";
}

std::string refreshedMessage(std::optional<std::int64_t> expires_at) {
  return Json{{"type", "refreshed"}, {"expires_at", expires_at ? Json(*expires_at) : Json(nullptr)}}.dump();
}

std::string errorMessage(const std::string& code, const std::string& message) {
  return Json{{"type", "error"}, {"code", code}, {"message", message}}.dump(-1, ' ', false,
                                                                            Json::error_handler_t::replace);
}

std::string eventMessage(const std::string& topic, std::uint64_t offset, std::string_view data_json) {
  std::string text;
  text.reserve(data_json.size() + topic.size() + 64);
  text += R"({"type":"event","topic":)";
  text += Json(topic).dump();
  text += R"(,"offset":)";
  text += std::to_string(offset);
  text += R"(,"data":)";
  text += data_json;
  text += '}';
  return text;
}

}  // namespace eventnode::core
