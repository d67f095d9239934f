#pragma once
// The core `/ws` dialect (docs/protocol.md): parsing what clients send and
// building what the node answers.
#include <eventnode/plugin/http.hpp>
#include <eventnode/plugin/json.hpp>

#include "gateway/subscription_filter.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace eventnode::core {

struct ClientRequest {
  enum class Kind { Subscribe, Unsubscribe, Ping, Refresh };
  Kind kind = Kind::Ping;
  std::string topic;
  std::optional<std::uint64_t> since;
  std::string epoch;
  std::optional<SubscriptionFilter> filter;
  std::string token;  ///< Refresh: the new JWT
};

/// Longest token a refresh may carry: far above any real JWT, far below a frame.
inline constexpr std::size_t kMaxRefreshTokenBytes = 8192;

/// A refused request: the error frame's code and message.
struct ProtocolError {
  std::string code;
  std::string message;
};

/// Parses one text message from a client.
std::variant<ClientRequest, ProtocolError> parseClientMessage(std::string_view text);

std::string connectedMessage(std::uint64_t connection_id, const plugin::Identity& identity, const std::string& node_id,
                             const std::vector<std::string>& topics);
std::string subscribedMessage(const std::string& topic, std::uint64_t offset, const std::string& epoch, bool recovered);
std::string unsubscribedMessage(const std::string& topic);
std::string pongMessage();
/// The answer to a refresh: the connection now lives until `expires_at` (Unix
/// seconds), or for good when the token has no `exp`.
std::string refreshedMessage(std::optional<std::int64_t> expires_at);
std::string errorMessage(const std::string& code, const std::string& message);

/// `{"type":"event","topic":…,"offset":…,"data":…}` with `data` already serialized.
std::string eventMessage(const std::string& topic, std::uint64_t offset, std::string_view data_json);

}  // namespace eventnode::core
