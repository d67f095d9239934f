#include "rpc_client.hpp"

#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <sstream>

namespace eventnode::plugins::solana_listener {

using plugin::Json;

namespace {
// A getTransaction answer is a few KiB; a getSignaturesForAddress page of
// 1,000 is about 200 KiB. Anything far beyond is not a sane answer.
constexpr std::streamsize kMaxResponseBytes = 32 << 20;
}  // namespace

RpcClient::RpcClient(const std::string& url, std::chrono::milliseconds timeout, const std::string& tls_ca_file)
    : url_(url), target_(parseTarget(url, "rpc_url")), timeout_(timeout) {
  target_.ca_file = tls_ca_file;
}

RpcClient::~RpcClient() = default;

Json RpcClient::post(const std::string& body) {
  if (!session_) {
    session_ = openSession(target_, timeout_);
    // Without it Poco sends "Connection: close" whatever the request says: a new TCP
    // connection (and a TIME-WAIT socket) for every getTransaction of a live event.
    session_->setKeepAlive(true);
  }
  Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, target_.path, Poco::Net::HTTPMessage::HTTP_1_1);
  request.setContentType("application/json");
  request.setContentLength(static_cast<std::streamsize>(body.size()));
  request.setKeepAlive(true);
  session_->sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  auto& stream = session_->receiveResponse(response);
  std::string text;
  char chunk[16384];
  while (stream.read(chunk, sizeof chunk) || stream.gcount() > 0) {
    text.append(chunk, static_cast<std::size_t>(stream.gcount()));
    if (static_cast<std::streamsize>(text.size()) > kMaxResponseBytes) {
      session_.reset();
      throw RpcUnavailable("the RPC answer is larger than 32 MiB");
    }
  }
  if (response.getStatus() != Poco::Net::HTTPResponse::HTTP_OK) {
    throw RpcUnavailable("the RPC node answered HTTP " + std::to_string(static_cast<int>(response.getStatus())) + " " +
                         response.getReason());
  }
  auto read = plugin::readJson(text, {.max_depth = 64, .max_bytes = static_cast<std::size_t>(kMaxResponseBytes)});
  if (!read.ok()) throw RpcUnavailable("the RPC answer is refused: " + read.error);
  if (!(read.value.is_object() || read.value.is_array())) throw RpcUnavailable("the RPC answer is not JSON-RPC");
  return std::move(read.value);
}

Json RpcClient::exchange(const std::string& what, const std::string& body) {
  for (;;) {
    const bool reused = session_ != nullptr;
    try {
      return post(body);
    } catch (const Poco::Exception& e) {
      session_.reset();
      // A kept-alive connection the server closed fails on first use: redial once.
      if (reused) continue;
      throw RpcUnavailable(what + " failed: " + e.displayText());
    } catch (const RpcUnavailable&) {
      session_.reset();
      throw;
    }
  }
}

std::vector<std::optional<Json>> RpcClient::callBatch(const std::vector<std::pair<std::string, Json>>& calls) {
  if (calls.empty()) return {};
  auto body = Json::array();
  const auto first = next_id_;
  for (const auto& [method, params] : calls) {
    body.push_back(Json{{"jsonrpc", "2.0"}, {"id", next_id_++}, {"method", method}, {"params", params}});
  }
  auto answer = exchange("a batch of " + std::to_string(calls.size()) + " calls", body.dump());
  if (!answer.is_array()) throw RpcUnavailable("the answer to a batch is not an array");
  std::vector<std::optional<Json>> results(calls.size());
  for (auto& item : answer) {
    if (!item.is_object() || !item.contains("id") || !item["id"].is_number_unsigned()) continue;
    const auto index = item["id"].get<std::uint64_t>() - first;
    if (index >= results.size()) continue;
    // Moved, not copied: a batch of getTransaction answers is hundreds of KiB.
    if (item.contains("result") && !(item.contains("error") && !item["error"].is_null())) {
      results[index] = std::move(item["result"]);
    }
  }
  return results;
}

Json RpcClient::call(const std::string& method, const Json& params) {
  const auto id = next_id_++;
  const auto answer =
      exchange(method, Json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}.dump());
  if (!answer.is_object()) throw RpcUnavailable(method + ": the answer is not a JSON object");
  if (const auto error = answer.find("error"); error != answer.end() && !error->is_null()) {
    const int code = error->is_object() && error->contains("code") && (*error)["code"].is_number_integer()
                         ? (*error)["code"].get<int>()
                         : 0;
    const auto message = error->is_object() && error->contains("message") && (*error)["message"].is_string()
                             ? (*error)["message"].get<std::string>()
                             : error->dump();
    throw RpcError(code, message);
  }
  if (!answer.contains("result")) throw RpcUnavailable(method + ": the answer has neither result nor error");
  return answer["result"];
}

}  // namespace eventnode::plugins::solana_listener
