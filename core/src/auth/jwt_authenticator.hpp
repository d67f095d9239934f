#pragma once
// Verifies client JWTs (HS256 with a shared secret, RS256 with a public key)
// and API keys, turning them into an Identity. Mints development tokens for
// `eventnode token`. Token text never reaches a log or an error message.
#include <eventnode/plugin/http.hpp>

#include "config/node_config.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace Poco::JWT {
class Signer;
}

namespace eventnode::core {

class JwtAuthenticator {
 public:
  /// Reads keys now; throws AuthError naming the file when a key cannot be read.
  explicit JwtAuthenticator(const AuthSection& auth);
  ~JwtAuthenticator();

  /// True when tokens can be verified (a secret or public key is configured).
  bool canVerify() const { return static_cast<bool>(verifier_); }
  bool required() const { return required_; }
  /// True when auth.required is on and `path` is not one of auth.public_routes:
  /// the HTTP request needs a valid token or API key whatever its route's access.
  bool requiresCredentials(std::string_view path) const;

  /// Verifies signature, exp (required unless auth.require_exp is off), nbf
  /// and iat within auth.leeway_seconds, and iss/aud when configured.
  /// Thread-safe. Throws AuthError with a reason fit for the client ("token
  /// expired"). `expires_at`, when given, receives the token's expiry (none
  /// for a token without exp).
  plugin::Identity verify(const std::string& token,
                          std::optional<std::chrono::system_clock::time_point>* expires_at = nullptr) const;

  /// An admin identity when `key` is one of auth.api_keys (compared in constant time).
  bool isApiKey(std::string_view key) const;

  /// Signs a token for `subject` with these roles, valid for `ttl`. Throws
  /// AuthError when no signing key is configured.
  std::string mint(const std::string& subject, const std::vector<std::string>& roles, std::chrono::seconds ttl) const;

 private:
  std::string algorithm_;
  std::string issuer_;
  std::string audience_;
  bool required_ = false;
  bool require_exp_ = true;
  std::chrono::seconds leeway_{30};
  std::vector<std::string> public_routes_;
  std::vector<std::string> api_keys_;
  std::unique_ptr<Poco::JWT::Signer> verifier_;
  /// Poco 1.11's JWT verification is not safe on several threads at once:
  /// concurrent verify() calls corrupt the heap (ASan: a free of a pointer into
  /// another allocation, in Signer::tryVerify), and the node died within a few
  /// thousand requests on 6 keep-alive connections. Verifications take turns;
  /// each costs microseconds.
  mutable std::mutex poco_jwt_mutex_;
  std::unique_ptr<Poco::JWT::Signer> signer_;
};

}  // namespace eventnode::core
