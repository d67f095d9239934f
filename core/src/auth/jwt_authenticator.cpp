#include "auth/jwt_authenticator.hpp"

#include "errors.hpp"

#include <Poco/Crypto/RSAKey.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JWT/JWTException.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>
#include <Poco/Timestamp.h>

#include <algorithm>
#include <cmath>
#include <fstream>

namespace eventnode::core {
namespace {

std::unique_ptr<Poco::JWT::Signer> rsaSigner(const std::filesystem::path& public_key,
                                             const std::filesystem::path& private_key) {
  // Checked here: Poco's reader leaks its file handle when a key file cannot be opened.
  for (const auto& file : {public_key, private_key}) {
    if (!file.empty() && !std::ifstream(file)) {
      throw AuthError("cannot read RSA key " + file.string() + "; check auth.public_key_file/private_key_file (PEM)");
    }
  }
  try {
    auto key =
        Poco::SharedPtr<Poco::Crypto::RSAKey>(new Poco::Crypto::RSAKey(public_key.string(), private_key.string(), ""));
    auto signer = std::make_unique<Poco::JWT::Signer>(key);
    signer->setAlgorithms({Poco::JWT::Signer::ALGO_RS256});
    return signer;
  } catch (const Poco::Exception& e) {
    throw AuthError("cannot read RSA key " + (private_key.empty() ? public_key : private_key).string() + ": " +
                    e.displayText() + "; check auth.public_key_file/private_key_file (PEM)");
  }
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || b.empty()) return false;  // key length is not the secret
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

bool JwtAuthenticator::requiresCredentials(std::string_view path) const {
  if (!required_) return false;
  for (const auto& route : public_routes_) {
    const bool prefix = !route.empty() && route.back() == '*';
    if (prefix ? path.substr(0, route.size() - 1) == std::string_view(route).substr(0, route.size() - 1)
               : path == route) {
      return false;
    }
  }
  return true;
}

JwtAuthenticator::JwtAuthenticator(const AuthSection& auth)
    : algorithm_(auth.algorithm),
      issuer_(auth.issuer),
      audience_(auth.audience),
      required_(auth.required),
      require_exp_(auth.require_exp),
      leeway_(auth.leeway),
      public_routes_(auth.public_routes),
      api_keys_(auth.api_keys) {
  if (algorithm_ == "RS256") {
    if (!auth.public_key_file.empty()) verifier_ = rsaSigner(auth.public_key_file, {});
    if (!auth.private_key_file.empty()) signer_ = rsaSigner(auth.public_key_file, auth.private_key_file);
  } else if (!auth.secret.empty()) {
    verifier_ = std::make_unique<Poco::JWT::Signer>(auth.secret);
    verifier_->setAlgorithms({Poco::JWT::Signer::ALGO_HS256});
    signer_ = std::make_unique<Poco::JWT::Signer>(auth.secret);
  }
}

JwtAuthenticator::~JwtAuthenticator() = default;

plugin::Identity JwtAuthenticator::verify(const std::string& token,
                                          std::optional<std::chrono::system_clock::time_point>* expires_at) const {
  if (!verifier_) throw AuthError("tokens are not accepted: no auth secret or key is configured");
  std::lock_guard one_at_a_time(poco_jwt_mutex_);
  Poco::JWT::Token parsed;
  try {
    parsed = verifier_->verify(token);
  } catch (const Poco::JWT::SignatureVerificationException&) {
    throw AuthError("invalid token signature");
  } catch (const Poco::JWT::UnallowedAlgorithmException&) {
    throw AuthError("token algorithm not accepted; expected " + algorithm_);
  } catch (const Poco::JWT::UnsupportedAlgorithmException&) {
    throw AuthError("token algorithm not accepted; expected " + algorithm_);
  } catch (const Poco::Exception&) {
    throw AuthError("malformed token");
  }
  const auto& claims = parsed.payload();
  // Times are read as the numbers they are: Poco's conversion to a Timestamp
  // overflows for values such as nbf 1e300, which then passed as valid.
  const auto seconds = [&](const char* name) -> std::optional<double> {
    if (!claims.has(name)) return std::nullopt;
    const auto value = claims.get(name);
    if (!value.isNumeric()) throw AuthError(std::string("token ") + name + " claim must be a number of seconds");
    const auto number = value.convert<double>();
    if (!std::isfinite(number)) throw AuthError(std::string("token ") + name + " claim must be a finite number");
    return number;
  };
  const auto now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const auto leeway = static_cast<double>(leeway_.count());
  const auto exp = seconds("exp");
  if (!exp && require_exp_) throw AuthError("token has no exp claim; this node requires one (auth.require_exp)");
  if (exp && *exp <= now - leeway) throw AuthError("token expired");
  if (const auto nbf = seconds("nbf"); nbf && *nbf > now + leeway) throw AuthError("token not valid yet (nbf)");
  if (const auto iat = seconds("iat"); iat && *iat > now + leeway) throw AuthError("token issued in the future (iat)");
  if (expires_at) {
    // Past a century it makes no difference, and the conversion below stays in range.
    constexpr double kCentury = 100.0 * 365 * 24 * 3600;
    *expires_at = std::nullopt;
    if (exp && *exp < now + kCentury)
      *expires_at = std::chrono::system_clock::time_point(
          std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(*exp)));
  }
  if (!issuer_.empty() && parsed.getIssuer() != issuer_) throw AuthError("token issuer not accepted");
  if (!audience_.empty()) {
    const auto audience = parsed.getAudience();
    if (std::find(audience.begin(), audience.end(), audience_) == audience.end()) {
      throw AuthError("token audience not accepted");
    }
  }
  plugin::Identity identity;
  identity.user = parsed.getSubject();
  if (identity.user.empty()) throw AuthError("token has no sub claim");
  // Poco converts any value to a string on request, so types are checked first.
  const auto addRole = [&](const Poco::Dynamic::Var& role) {
    if (!role.isString()) throw AuthError("token role/roles claims must be strings");
    const auto& name = role.extract<std::string>();
    if (std::find(identity.roles.begin(), identity.roles.end(), name) == identity.roles.end())
      identity.roles.push_back(name);
  };
  if (claims.has("role")) addRole(claims.get("role"));
  if (claims.has("roles")) {
    const auto roles = claims.getArray("roles");
    if (!roles) throw AuthError("token roles claim must be a list of strings");
    for (std::size_t i = 0; i < roles->size(); ++i) addRole(roles->get(static_cast<unsigned>(i)));
  }
  identity.authenticated = true;
  return identity;
}

bool JwtAuthenticator::isApiKey(std::string_view key) const {
  bool match = false;
  for (const auto& candidate : api_keys_) match = constantTimeEquals(key, candidate) || match;
  return match;
}

std::string JwtAuthenticator::mint(const std::string& subject, const std::vector<std::string>& roles,
                                   std::chrono::seconds ttl) const {
  if (!signer_) {
    throw AuthError(algorithm_ == "RS256" ? "minting RS256 tokens needs auth.private_key_file"
                                          : "minting tokens needs an auth secret (secret, secret_env or secret_file)");
  }
  Poco::JWT::Token token;
  token.setType("JWT");
  token.setSubject(subject);
  const Poco::Timestamp now;
  token.setIssuedAt(now);
  token.setExpiration(now + std::chrono::duration_cast<std::chrono::microseconds>(ttl).count());
  if (!issuer_.empty()) token.setIssuer(issuer_);
  if (!audience_.empty()) token.setAudience(audience_);
  if (roles.size() == 1) token.payload().set("role", roles.front());
  if (roles.size() > 1) {
    Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
    for (const auto& role : roles) list->add(role);
    token.payload().set("roles", list);
  }
  return signer_->sign(token, algorithm_ == "RS256" ? Poco::JWT::Signer::ALGO_RS256 : Poco::JWT::Signer::ALGO_HS256);
}

}  // namespace eventnode::core
