#include "gateway/websocket_upgrade.hpp"

#include "errors.hpp"
#include "http/http_request_handler.hpp"

#include <Poco/Base64Decoder.h>
#include <Poco/Base64Encoder.h>
#include <Poco/SHA1Engine.h>
#include <Poco/String.h>

#include <sstream>

namespace eventnode::core {
namespace {

UpgradeDecision refuse(int status, const std::string& code, const std::string& message) {
  UpgradeDecision decision;
  decision.refusal = plugin::HttpResponse::error(status, code, message);
  return decision;
}

bool headerHasToken(const std::string& value, const std::string& token) {
  std::istringstream parts(value);
  std::string part;
  while (std::getline(parts, part, ',')) {
    if (Poco::icompare(Poco::trim(part), token) == 0) return true;
  }
  return false;
}

bool isValidKey(const std::string& key) {
  std::istringstream in(key);
  Poco::Base64Decoder decoder(in);
  std::string raw((std::istreambuf_iterator<char>(decoder)), std::istreambuf_iterator<char>());
  return raw.size() == 16;
}

std::vector<std::string> splitTopics(const std::string& list) {
  std::vector<std::string> topics;
  std::istringstream parts(list);
  std::string topic;
  while (std::getline(parts, topic, ',')) {
    if (!topic.empty()) topics.push_back(topic);
  }
  return topics;
}

}  // namespace

std::string webSocketAccept(const std::string& key) {
  Poco::SHA1Engine sha1;
  sha1.update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
  const auto& digest = sha1.digest();
  std::ostringstream out;
  Poco::Base64Encoder encoder(out);
  encoder.write(reinterpret_cast<const char*>(digest.data()), static_cast<std::streamsize>(digest.size()));
  encoder.close();
  return out.str();
}

std::optional<UpgradeDecision> WebSocketUpgrade::decide(const plugin::HttpRequest& request) const {
  if (request.path == "/ws") return decide(request, nullptr);
  if (const auto* endpoint = gateway_.findEndpoint(request.path)) return decide(request, endpoint);
  return std::nullopt;
}

UpgradeDecision WebSocketUpgrade::decide(const plugin::HttpRequest& request,
                                         const plugin::WebSocketEndpoint* endpoint) const {
  const auto query = [&](const char* key) {
    const auto it = request.query.find(key);
    return it == request.query.end() ? std::string{} : it->second;
  };
  plugin::Identity identity;
  std::optional<std::chrono::system_clock::time_point> expires_at;
  try {
    identity = identifyCaller(auth_, request.header("authorization"), request.header("x-api-key"), query("token"),
                              &expires_at);
  } catch (const AuthError& e) {
    gateway_.metrics().drop(DropReason::AuthFailed);
    return refuse(401, "unauthorized", e.what());
  }
  const auto access = endpoint ? endpoint->access : plugin::RouteAccess::Public;
  if (!identity.authenticated && (auth_.required() || access != plugin::RouteAccess::Public)) {
    gateway_.metrics().drop(DropReason::AuthFailed);
    return refuse(401, "unauthorized", "a token is required: ?token=<JWT> or Authorization: Bearer <JWT>");
  }
  if (access == plugin::RouteAccess::Admin && !identity.isAdmin()) {
    return refuse(403, "forbidden", "this endpoint needs the admin role");
  }

  const auto key = request.header("sec-websocket-key");
  if (Poco::icompare(request.header("upgrade"), "websocket") != 0 ||
      !headerHasToken(request.header("connection"), "upgrade") || request.method != "GET") {
    return refuse(400, "bad_upgrade", "this path takes WebSocket connections only (GET with Upgrade: websocket)");
  }
  if (request.header("sec-websocket-version") != "13") {
    auto decision = refuse(400, "bad_upgrade", "Sec-WebSocket-Version must be 13");
    decision.refusal->headers.emplace_back("Sec-WebSocket-Version", "13");
    return decision;
  }
  if (!isValidKey(key)) return refuse(400, "bad_upgrade", "Sec-WebSocket-Key must be 16 bytes in base64");

  const auto ip = request.remote_address;
  if (const auto refusal = gateway_.admit(ip)) return refuse(refusal->status, refusal->code, refusal->message);

  UpgradeDecision decision;
  decision.switching = plugin::HttpResponse{
      101, "", "", {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}, {"Sec-WebSocket-Accept", webSocketAccept(key)}}};
  // The connection ends when its token does (close 4001), unless the client refreshes it in band.
  const auto token_deadline = tokenDeadline(expires_at);
  decision.adopt = [this, identity, ip, endpoint, topics = splitTopics(query("subscriptions")),
                    token_deadline](Poco::Net::StreamSocket socket, bool tls) mutable {
    gateway_.adopt(std::move(socket), tls, std::move(identity), ip, endpoint, std::move(topics), token_deadline);
  };
  decision.abandon = [this, ip] { gateway_.release(ip); };
  return decision;
}

}  // namespace eventnode::core
