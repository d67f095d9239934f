#pragma once
/// The one place that turns an http(s)/ws(s) URL into a Poco client session,
/// TLS included (Poco NetSSL with the system's CA store, plus an operator's
/// own CA file), for the RPC and PubSub clients.
#include <Poco/Net/Context.h>
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
  std::string ca_file;  ///< PEM certificate authorities trusted besides the system's; empty: the system's only
  bool tls() const { return scheme == "https" || scheme == "wss"; }
};

/// Parses `url`; throws std::invalid_argument naming `what` for another
/// scheme, a missing host or a bad port.
HttpTarget parseTarget(const std::string& url, const std::string& what);

/// The TLS client context that trusts the system's CAs and those in `ca_file`
/// (none when empty), made once per file. Throws std::invalid_argument naming
/// the file when it cannot be read as PEM certificates.
Poco::Net::Context::Ptr tlsClientContext(const std::string& ca_file);

/// A session to `target`, its timeouts set (connect, send and receive).
std::unique_ptr<Poco::Net::HTTPClientSession> openSession(const HttpTarget& target,
                                                          std::chrono::milliseconds timeout);

}  // namespace eventnode::plugins::solana_listener
