#include "http_target.hpp"

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPSClientSession.h>

#include <stdexcept>

namespace eventnode::plugins::solana_listener {

HttpTarget parseTarget(const std::string& url, const std::string& what) {
  Poco::URI uri;
  try {
    uri = Poco::URI(url);
  } catch (const Poco::Exception& e) {
    throw std::invalid_argument(what + " is not a URL: " + url + " (" + e.displayText() + ")");
  }
  HttpTarget target{uri.getScheme(), uri.getHost(), uri.getPort(), uri.getPathAndQuery()};
  if (target.scheme != "http" && target.scheme != "https" && target.scheme != "ws" && target.scheme != "wss") {
    throw std::invalid_argument(what + " must start with http://, https://, ws:// or wss://: " + url);
  }
  if (target.host.empty()) throw std::invalid_argument(what + " has no host: " + url);
  if (target.path.empty()) target.path = "/";
  return target;
}

std::unique_ptr<Poco::Net::HTTPClientSession> openSession(const HttpTarget& target,
                                                          std::chrono::milliseconds timeout) {
  std::unique_ptr<Poco::Net::HTTPClientSession> session;
  if (target.tls()) {
    // One client context for the process: verifies the server against the
    // system's CA store, as a browser would.
    static const Poco::Net::Context::Ptr context =
        new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "", "", Poco::Net::Context::VERIFY_RELAXED, 9,
                               true, "ALL:!ADH:!LOW:!EXP:!MD5:@STRENGTH");
    session = std::make_unique<Poco::Net::HTTPSClientSession>(target.host, target.port, context);
  } else {
    session = std::make_unique<Poco::Net::HTTPClientSession>(target.host, target.port);
  }
  const Poco::Timespan span(std::chrono::duration_cast<std::chrono::microseconds>(timeout).count());
  session->setTimeout(span, span, span);
  return session;
}

}  // namespace eventnode::plugins::solana_listener
