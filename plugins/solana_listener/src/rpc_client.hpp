#pragma once
/// A Solana JSON-RPC client over HTTP(S) with a kept-alive connection.
/// Not thread-safe: each thread that calls RPC owns its own client.
#include "http_target.hpp"

#include <eventnode/plugin/json.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <utility>
#include <vector>
#include <stdexcept>
#include <string>

namespace eventnode::plugins::solana_listener {

/// The node answered with a JSON-RPC error object.
class RpcError : public std::runtime_error {
 public:
  RpcError(int code, const std::string& message)
      : std::runtime_error("RPC error " + std::to_string(code) + ": " + message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

/// The call did not get an answer: connection refused, timeout, HTTP status
/// other than 200, or a body that is not a JSON-RPC response.
class RpcUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class RpcClient {
 public:
  /// Throws std::invalid_argument for a bad URL. `tls_ca_file`: see HttpTarget::ca_file.
  RpcClient(const std::string& url, std::chrono::milliseconds timeout, const std::string& tls_ca_file = "");
  ~RpcClient();

  /// Calls `method` with `params` and returns its "result" (may be null).
  /// Throws RpcError or RpcUnavailable; a dropped kept-alive connection is
  /// redialled once before giving up.
  plugin::Json call(const std::string& method, const plugin::Json& params);

  /// Sends every call in one JSON-RPC batch request; each answer in the
  /// order asked, nullopt where that call got an error. Throws RpcUnavailable
  /// when the batch as a whole got no answer.
  std::vector<std::optional<plugin::Json>> callBatch(
      const std::vector<std::pair<std::string, plugin::Json>>& calls);

  const std::string& url() const { return url_; }

 private:
  plugin::Json post(const std::string& body);
  /// post() with the one redial a dropped kept-alive connection deserves.
  plugin::Json exchange(const std::string& what, const std::string& body);

  std::string url_;
  HttpTarget target_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<Poco::Net::HTTPClientSession> session_;
  std::uint64_t next_id_ = 1;
};

}  // namespace eventnode::plugins::solana_listener
