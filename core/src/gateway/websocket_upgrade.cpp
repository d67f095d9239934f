#include "gateway/websocket_upgrade.hpp"

#include "errors.hpp"
#include "http/http_request_handler.hpp"

#include <Poco/Base64Decoder.h>
#include <Poco/Base64Encoder.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/SHA1Engine.h>
#include <Poco/String.h>
#include <Poco/URI.h>

#include <sstream>

namespace eventnode::core {
namespace {

void refuse(Poco::Net::HTTPServerResponse& response, int status, const std::string& code, const std::string& message) {
  const auto body = plugin::HttpResponse::error(status, code, message).body;
  response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
  response.setContentType("application/json");
  response.setContentLength(static_cast<std::streamsize>(body.size()));
  response.send() << body;
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

void WebSocketUpgradeHandler::handleRequest(Poco::Net::HTTPServerRequest& request,
                                            Poco::Net::HTTPServerResponse& response) {
  const Poco::URI uri(request.getURI());
  std::string query_token;
  std::string topics;
  try {
    for (const auto& [key, value] : uri.getQueryParameters()) {
      if (key == "token")
        query_token = value;
      else if (key == "subscriptions")
        topics = value;
    }
  } catch (const Poco::Exception&) {
    refuse(response, 400, "bad_upgrade", "malformed query string");
    return;
  }

  plugin::Identity identity;
  std::optional<std::chrono::system_clock::time_point> expires_at;
  try {
    identity = identifyCaller(auth_, request.get("Authorization", ""), request.get("X-API-Key", ""), query_token,
                              &expires_at);
  } catch (const AuthError& e) {
    gateway_.metrics().drop(DropReason::AuthFailed);
    refuse(response, 401, "unauthorized", e.what());
    return;
  }
  const auto access = endpoint_ ? endpoint_->access : plugin::RouteAccess::Public;
  if (!identity.authenticated && (auth_.required() || access != plugin::RouteAccess::Public)) {
    gateway_.metrics().drop(DropReason::AuthFailed);
    refuse(response, 401, "unauthorized", "a token is required: ?token=<JWT> or Authorization: Bearer <JWT>");
    return;
  }
  if (access == plugin::RouteAccess::Admin && !identity.isAdmin()) {
    refuse(response, 403, "forbidden", "this endpoint needs the admin role");
    return;
  }

  const auto key = request.get("Sec-WebSocket-Key", "");
  if (Poco::icompare(request.get("Upgrade", ""), "websocket") != 0 ||
      !headerHasToken(request.get("Connection", ""), "upgrade") || request.getMethod() != "GET") {
    refuse(response, 400, "bad_upgrade", "this path takes WebSocket connections only (GET with Upgrade: websocket)");
    return;
  }
  if (request.get("Sec-WebSocket-Version", "") != "13") {
    response.set("Sec-WebSocket-Version", "13");
    refuse(response, 400, "bad_upgrade", "Sec-WebSocket-Version must be 13");
    return;
  }
  if (!isValidKey(key)) {
    refuse(response, 400, "bad_upgrade", "Sec-WebSocket-Key must be 16 bytes in base64");
    return;
  }

  const auto ip = request.clientAddress().host().toString();
  if (const auto refusal = gateway_.admit(ip)) {
    refuse(response, refusal->status, refusal->code, refusal->message);
    return;
  }
  try {
    response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_SWITCHING_PROTOCOLS);
    response.set("Upgrade", "websocket");
    response.set("Connection", "Upgrade");
    response.set("Sec-WebSocket-Accept", webSocketAccept(key));
    response.setContentLength(0);
    response.send().flush();
    // From here on the socket belongs to the gateway, not to the HTTP session.
    auto socket = static_cast<Poco::Net::HTTPServerRequestImpl&>(request).detachSocket();
    const bool tls = socket.secure();
    // The connection ends when its token does (close 4001): a steady-clock deadline, immune to clock steps.
    std::optional<std::chrono::steady_clock::time_point> token_deadline;
    if (expires_at)
      token_deadline = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                              *expires_at - std::chrono::system_clock::now());
    gateway_.adopt(std::move(socket), tls, std::move(identity), ip, endpoint_, splitTopics(topics), token_deadline);
  } catch (const Poco::Exception& e) {
    gateway_.release(ip);
    logger_->warn("upgrade failed remote={} error=\"{}\"", ip, e.displayText());
  }
}

}  // namespace eventnode::core
