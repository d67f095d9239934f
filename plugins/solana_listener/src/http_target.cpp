#include "http_target.hpp"

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPSClientSession.h>

#include <map>
#include <mutex>
#include <stdexcept>

namespace eventnode::plugins::solana_listener {

HttpTarget parseTarget(const std::string& url, const std::string& what) {
  Poco::URI uri;
  try {
    uri = Poco::URI(url);
  } catch (const Poco::Exception& e) {
    throw std::invalid_argument(what + " is not a URL: " + url + " (" + e.displayText() + ")");
  }
  HttpTarget target{uri.getScheme(), uri.getHost(), uri.getPort(), uri.getPathAndQuery(), ""};
  if (target.scheme != "http" && target.scheme != "https" && target.scheme != "ws" && target.scheme != "wss") {
    throw std::invalid_argument(what + " must start with http://, https://, ws:// or wss://: " + url);
  }
  if (target.host.empty()) throw std::invalid_argument(what + " has no host: " + url);
  if (target.path.empty()) target.path = "/";
  return target;
}

Poco::Net::Context::Ptr tlsClientContext(const std::string& ca_file) {
  static std::mutex mutex;
  // Never destroyed: at exit OpenSSL may be cleaned up before a static map
  // would free its contexts.
  static auto& contexts = *new std::map<std::string, Poco::Net::Context::Ptr>;
  std::lock_guard lock(mutex);
  auto& context = contexts[ca_file];
  if (!context) {
    try {
      // Verifies the server's chain (and its name, unless it is a loopback
      // address) against the system's CA store, plus `ca_file`: a private RPC
      // node's certificate is often signed by its operator's own authority.
      context = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "", ca_file,
                                       Poco::Net::Context::VERIFY_RELAXED, 9, true, "ALL:!ADH:!LOW:!EXP:!MD5:@STRENGTH");
    } catch (const Poco::Exception& e) {
      contexts.erase(ca_file);
      throw std::invalid_argument("tls_ca_file " + ca_file + " cannot be used: " + e.displayText());
    }
  }
  return context;
}

std::unique_ptr<Poco::Net::HTTPClientSession> openSession(const HttpTarget& target,
                                                          std::chrono::milliseconds timeout) {
  std::unique_ptr<Poco::Net::HTTPClientSession> session;
  if (target.tls()) {
    session = std::make_unique<Poco::Net::HTTPSClientSession>(target.host, target.port,
                                                              tlsClientContext(target.ca_file));
  } else {
    session = std::make_unique<Poco::Net::HTTPClientSession>(target.host, target.port);
  }
  const Poco::Timespan span(std::chrono::duration_cast<std::chrono::microseconds>(timeout).count());
  session->setTimeout(span, span, span);
  return session;
}

}  // namespace eventnode::plugins::solana_listener
