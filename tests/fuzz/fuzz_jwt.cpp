// Token verification (core/src/auth/jwt_authenticator.hpp) as every HTTP
// request and WebSocket upgrade with a token runs it. A token with a forged
// signature stops at the signature, so the fuzzer gets two ways in: the first
// byte even, the rest is the token as a client sends it; odd, the rest is a
// header and a claims text (split at the first newline) that this target
// signs with the node's secret, so the claim checks behind the signature run
// on whatever the fuzzer writes there. verify() may refuse, but only ever
// with AuthError, and what it accepts has a subject.
#include "fuzz_support.hpp"

#include "auth/jwt_authenticator.hpp"
#include "errors.hpp"

#include <Poco/Base64Encoder.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <exception>
#include <sstream>
#include <string>

using eventnode::fuzz::require;

namespace {

const std::string kSecret = "fuzz-secret-0123456789abcdef0123456789";

std::string base64Url(std::string_view bytes) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out, Poco::BASE64_URL_ENCODING | Poco::BASE64_NO_PADDING);
  encoder.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  encoder.close();
  return out.str();
}

std::string signedToken(std::string_view header, std::string_view claims) {
  const auto signing_input = base64Url(header) + "." + base64Url(claims);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac, &mac_size);
  return signing_input + "." + base64Url(std::string_view(reinterpret_cast<const char*>(mac), mac_size));
}

const eventnode::core::JwtAuthenticator& authenticator() {
  static const eventnode::core::JwtAuthenticator auth = [] {
    eventnode::core::AuthSection section;
    section.algorithm = "HS256";
    section.secret = kSecret;
    // Configured, so the issuer and audience checks run too.
    section.issuer = "eventnode-fuzz";
    section.audience = "clients";
    return eventnode::core::JwtAuthenticator(section);
  }();
  return auth;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto rest = eventnode::fuzz::asText(data + 1, size - 1);
  std::string token;
  if ((data[0] & 1) == 0) {
    token = std::string(rest);
  } else {
    const auto newline = rest.find('\n');
    if (newline == std::string_view::npos) return 0;
    token = signedToken(rest.substr(0, newline), rest.substr(newline + 1));
  }
  std::optional<std::chrono::system_clock::time_point> expires_at;
  try {
    const auto identity = authenticator().verify(token, &expires_at);
    require(identity.authenticated, "an accepted token is authenticated");
    require(!identity.user.empty(), "an accepted token names its subject");
  } catch (const eventnode::core::AuthError&) {
    // Refused with a reason fit for the client: the expected outcome for most inputs.
  } catch (const std::exception& e) {
    std::fprintf(stderr, "verify threw something other than AuthError: %s\n", e.what());
    require(false, "verify() refuses only with AuthError");
  } catch (...) {
    require(false, "verify() refuses only with AuthError");
  }
  return 0;
}
