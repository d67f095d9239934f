#pragma once
/// The one place that turns an http(s)/ws(s) URL into a Poco client session,
/// TLS included (Poco NetSSL with the system's CA store), for the RPC and
/// PubSub clients.
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/URI.h>

#include <chrono>
#include <memory>
#include <string>

namespace eventnode::plugins::solana_listener {

struct HttpTarget {
  std::string scheme;  ///< http, https, ws or wss
  std::string host;
  std::uint16_t port = 0;
  std::string path;  ///< path and query, at least "/"
  bool tls() const { return scheme == "https" || scheme == "wss"; }
};

/// Parses `url`; throws std::invalid_argument naming `what` for another
/// scheme, a missing host or a bad port.
HttpTarget parseTarget(const std::string& url, const std::string& what);

/// A session to `target`, its timeouts set (connect, send and receive).
std::unique_ptr<Poco::Net::HTTPClientSession> openSession(const HttpTarget& target,
                                                          std::chrono::milliseconds timeout);

}  // namespace eventnode::plugins::solana_listener
