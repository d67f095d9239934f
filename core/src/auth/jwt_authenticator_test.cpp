#include "auth/jwt_authenticator.hpp"

#include "temp_dir.hpp"

#include "errors.hpp"

#include <Poco/Base64Encoder.h>
#include <Poco/Crypto/RSAKey.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>
#include <Poco/Timestamp.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace eventnode::core {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kSecret = "0123456789abcdef0123456789abcdef-test-secret";

AuthSection hs256(std::string secret = kSecret) {
  AuthSection auth;
  auth.algorithm = "HS256";
  auth.secret = std::move(secret);
  return auth;
}

/// Microseconds from now, for Poco timestamps.
Poco::Timestamp fromNow(std::chrono::seconds offset) {
  return Poco::Timestamp() + std::chrono::duration_cast<std::chrono::microseconds>(offset).count();
}

/// Signs `token` with HS256 and `secret`, bypassing JwtAuthenticator::mint.
std::string signHs(Poco::JWT::Token& token, const std::string& secret = kSecret,
                   const std::string& algorithm = Poco::JWT::Signer::ALGO_HS256) {
  Poco::JWT::Signer signer(secret);
  signer.addAllAlgorithms();
  return signer.sign(token, algorithm);
}

Poco::JWT::Token validToken(const std::string& subject = "alice") {
  Poco::JWT::Token token;
  token.setType("JWT");
  if (!subject.empty()) token.setSubject(subject);
  token.setIssuedAt(Poco::Timestamp());
  token.setExpiration(fromNow(600s));
  return token;
}

std::string base64Url(const std::string& text) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out, Poco::BASE64_URL_ENCODING | Poco::BASE64_NO_PADDING);
  encoder << text;
  encoder.close();
  return out.str();
}

/// Runs verify() and returns the AuthError message; fails the test when it does not throw.
std::string verifyError(const JwtAuthenticator& auth, const std::string& token) {
  try {
    auth.verify(token);
  } catch (const AuthError& e) {
    return e.what();
  }
  ADD_FAILURE() << "verify() accepted a token it should refuse";
  return {};
}

class TempDir : public test_support::TempDir {
 public:
  TempDir() : test_support::TempDir("jwt") {}
};

struct RsaKeyFiles {
  fs::path public_key;
  fs::path private_key;
};

RsaKeyFiles writeRsaKeyPair(const fs::path& dir, const std::string& name) {
  Poco::Crypto::RSAKey key(Poco::Crypto::RSAKey::KL_2048, Poco::Crypto::RSAKey::EXP_LARGE);
  RsaKeyFiles files{dir / (name + ".pub.pem"), dir / (name + ".pem")};
  key.save(files.public_key.string(), files.private_key.string());
  return files;
}

TEST(JwtAuthenticator, MintedHs256TokenVerifiesWithSubjectAndRoles) {
  const JwtAuthenticator auth(hs256());
  ASSERT_TRUE(auth.canVerify());
  const auto token = auth.mint("alice", {"admin", "ops"}, 60s);
  const auto identity = auth.verify(token);
  EXPECT_TRUE(identity.authenticated);
  EXPECT_EQ(identity.user, "alice");
  EXPECT_EQ(identity.roles, (std::vector<std::string>{"admin", "ops"}));
  EXPECT_TRUE(identity.isAdmin());
}

TEST(JwtAuthenticator, ManyThreadsVerifyingAtOnceGetTheirOwnAnswers) {
  // Every HTTP thread verifies tokens: Poco's verification corrupted the heap when two ran at once.
  JwtAuthenticator auth(hs256());
  JwtAuthenticator other(hs256("another-secret-another-secret-0123456789"));
  const auto good = auth.mint("alice", {"admin"}, 60s);
  const auto forged = other.mint("mallory", {"admin"}, 60s);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        try {
          const auto identity = auth.verify((i + t) % 3 == 0 ? forged : good);
          if (identity.user != "alice" || (i + t) % 3 == 0) ++wrong;
        } catch (const AuthError&) {
          if ((i + t) % 3 != 0) ++wrong;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(JwtAuthenticator, MintedTokenWithOneRoleVerifiesWithThatRoleOnce) {
  const JwtAuthenticator auth(hs256());
  const auto identity = auth.verify(auth.mint("alice", {"admin"}, 60s));
  EXPECT_EQ(identity.user, "alice");
  EXPECT_EQ(identity.roles, (std::vector<std::string>{"admin"}));
}

TEST(JwtAuthenticator, MintedTokenWithoutRolesVerifiesWithNoRoles) {
  const JwtAuthenticator auth(hs256());
  const auto identity = auth.verify(auth.mint("bob", {}, 60s));
  EXPECT_EQ(identity.user, "bob");
  EXPECT_TRUE(identity.roles.empty());
  EXPECT_FALSE(identity.isAdmin());
}

TEST(JwtAuthenticator, RoleAndRolesClaimsAreMerged) {
  const JwtAuthenticator auth(hs256());
  auto token = validToken();
  token.payload().set("role", std::string("viewer"));
  Poco::JSON::Array::Ptr roles = new Poco::JSON::Array;
  roles->add(std::string("editor"));
  token.payload().set("roles", roles);
  const auto identity = auth.verify(signHs(token));
  EXPECT_EQ(identity.roles, (std::vector<std::string>{"viewer", "editor"}));
}

TEST(JwtAuthenticator, NonStringRoleClaimsAreRefused) {
  const JwtAuthenticator auth(hs256());
  struct Case {
    std::string name;
    std::function<void(Poco::JSON::Object&)> set;
  };
  const std::vector<Case> cases{
      {"role is a number", [](Poco::JSON::Object& claims) { claims.set("role", 7); }},
      {"role is a boolean", [](Poco::JSON::Object& claims) { claims.set("role", true); }},
      {"roles holds a number",
       [](Poco::JSON::Object& claims) {
         Poco::JSON::Array::Ptr roles = new Poco::JSON::Array;
         roles->add(5);
         claims.set("roles", roles);
       }},
      {"roles holds an object",
       [](Poco::JSON::Object& claims) {
         Poco::JSON::Array::Ptr roles = new Poco::JSON::Array;
         Poco::JSON::Object::Ptr nested = new Poco::JSON::Object;
         nested->set("x", 1);
         roles->add(nested);
         claims.set("roles", roles);
       }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto token = validToken();
    c.set(token.payload());
    EXPECT_EQ(verifyError(auth, signHs(token)), "token role/roles claims must be strings");
  }
}

TEST(JwtAuthenticator, TokenSignedWithAnotherSecretIsRefusedAsInvalidSignature) {
  const JwtAuthenticator auth(hs256());
  const JwtAuthenticator other(hs256("another-secret-that-is-at-least-32-bytes-long"));
  const auto token = other.mint("alice", {"admin"}, 60s);
  EXPECT_EQ(verifyError(auth, token), "invalid token signature");
}

TEST(JwtAuthenticator, TamperedPayloadIsRefusedAsInvalidSignature) {
  const JwtAuthenticator auth(hs256());
  const auto token = auth.mint("alice", {}, 60s);
  auto forged = validToken("mallory");
  const auto forged_text = signHs(forged, "not-the-secret-but-long-enough-for-hmac-00");
  // Header and payload of the forgery, signature of the genuine token.
  const auto genuine_signature = token.substr(token.rfind('.'));
  const auto spliced = forged_text.substr(0, forged_text.rfind('.')) + genuine_signature;
  EXPECT_EQ(verifyError(auth, spliced), "invalid token signature");
}

TEST(JwtAuthenticator, ExpiredTokenIsRefused) {
  const JwtAuthenticator auth(hs256());
  auto token = validToken();
  token.setExpiration(fromNow(-60s));
  EXPECT_EQ(verifyError(auth, signHs(token)), "token expired");
}

TEST(JwtAuthenticator, TokenNotValidYetIsRefused) {
  const JwtAuthenticator auth(hs256());
  auto token = validToken();
  token.setNotBefore(fromNow(3600s));
  EXPECT_EQ(verifyError(auth, signHs(token)), "token not valid yet (nbf)");
}

TEST(JwtAuthenticator, ATokenWithoutExpIsRefusedUnlessTheConfigAllowsIt) {
  Poco::JWT::Token token;
  token.setSubject("alice");
  EXPECT_EQ(verifyError(JwtAuthenticator(hs256()), signHs(token)),
            "token has no exp claim; this node requires one (auth.require_exp)");
  auto lenient = hs256();
  lenient.require_exp = false;
  EXPECT_EQ(JwtAuthenticator(lenient).verify(signHs(token)).user, "alice");
}

TEST(JwtAuthenticator, TimesAreCheckedWithinTheLeewayAndAsNumbers) {
  auto section = hs256();
  section.leeway = 30s;
  const JwtAuthenticator auth(section);
  auto just_expired = validToken();
  just_expired.setExpiration(fromNow(-10s));
  EXPECT_EQ(auth.verify(signHs(just_expired)).user, "alice") << "10 s past exp is within the 30 s leeway";
  auto long_expired = validToken();
  long_expired.setExpiration(fromNow(-40s));
  EXPECT_EQ(verifyError(auth, signHs(long_expired)), "token expired");
  auto early = validToken();
  early.setNotBefore(fromNow(20s));
  EXPECT_EQ(auth.verify(signHs(early)).user, "alice") << "nbf 20 s ahead is within the leeway";
  auto future_iat = validToken();
  future_iat.setIssuedAt(fromNow(3600s));
  EXPECT_EQ(verifyError(auth, signHs(future_iat)), "token issued in the future (iat)");
  // nbf 1e300 overflowed Poco's Timestamp and passed; as a number it is far in the future.
  auto huge_nbf = validToken();
  huge_nbf.payload().set("nbf", 1e300);
  EXPECT_EQ(verifyError(auth, signHs(huge_nbf)), "token not valid yet (nbf)");
  auto text_exp = validToken();
  text_exp.payload().set("exp", std::string("tomorrow"));
  EXPECT_EQ(verifyError(auth, signHs(text_exp)), "token exp claim must be a number of seconds");
}

TEST(JwtAuthenticator, VerifyTellsWhenTheTokenExpires) {
  const JwtAuthenticator auth(hs256());
  auto token = validToken();
  token.setExpiration(fromNow(600s));
  std::optional<std::chrono::system_clock::time_point> expires_at;
  auth.verify(signHs(token), &expires_at);
  ASSERT_TRUE(expires_at.has_value());
  const auto left = *expires_at - std::chrono::system_clock::now();
  EXPECT_GT(left, 590s);
  EXPECT_LT(left, 610s);
}

TEST(JwtAuthenticator, TokenWithPastNotBeforeIsAccepted) {
  const JwtAuthenticator auth(hs256());
  auto token = validToken();
  token.setNotBefore(fromNow(-60s));
  EXPECT_EQ(auth.verify(signHs(token)).user, "alice");
}

TEST(JwtAuthenticator, IssuerIsCheckedWhenConfigured) {
  auto section = hs256();
  section.issuer = "https://issuer.example";
  const JwtAuthenticator auth(section);

  auto right = validToken();
  right.setIssuer("https://issuer.example");
  EXPECT_EQ(auth.verify(signHs(right)).user, "alice");

  auto wrong = validToken();
  wrong.setIssuer("https://evil.example");
  EXPECT_EQ(verifyError(auth, signHs(wrong)), "token issuer not accepted");

  auto missing = validToken();
  EXPECT_EQ(verifyError(auth, signHs(missing)), "token issuer not accepted");

  // mint() sets the configured issuer itself.
  EXPECT_EQ(auth.verify(auth.mint("carol", {}, 60s)).user, "carol");
}

TEST(JwtAuthenticator, IssuerIsIgnoredWhenNotConfigured) {
  const JwtAuthenticator auth(hs256());
  auto token = validToken();
  token.setIssuer("anyone");
  EXPECT_EQ(auth.verify(signHs(token)).user, "alice");
}

TEST(JwtAuthenticator, AudienceIsCheckedWhenConfigured) {
  auto section = hs256();
  section.audience = "eventnode";
  const JwtAuthenticator auth(section);

  auto single = validToken();
  single.setAudience("eventnode");
  EXPECT_EQ(auth.verify(signHs(single)).user, "alice");

  auto among_several = validToken();
  among_several.setAudience(std::vector<std::string>{"other", "eventnode"});
  EXPECT_EQ(auth.verify(signHs(among_several)).user, "alice");

  auto wrong = validToken();
  wrong.setAudience("other");
  EXPECT_EQ(verifyError(auth, signHs(wrong)), "token audience not accepted");

  auto missing = validToken();
  EXPECT_EQ(verifyError(auth, signHs(missing)), "token audience not accepted");

  EXPECT_EQ(auth.verify(auth.mint("carol", {}, 60s)).user, "carol");
}

TEST(JwtAuthenticator, Hs512TokenIsRefusedEvenWithTheRightSecret) {
  const JwtAuthenticator auth(hs256());
  auto token = validToken();
  const auto text = signHs(token, kSecret, Poco::JWT::Signer::ALGO_HS512);
  const auto message = verifyError(auth, text);
  EXPECT_EQ(message, "token algorithm not accepted; expected HS256");
}

TEST(JwtAuthenticator, UnsignedAlgNoneTokenIsRefused) {
  const JwtAuthenticator auth(hs256());
  const auto header = base64Url(R"({"alg":"none","typ":"JWT"})");
  const auto exp = std::to_string(std::time(nullptr) + 600);
  const auto payload = base64Url(R"({"sub":"mallory","role":"admin","exp":)" + exp + "}");
  for (const auto& text : {header + "." + payload + ".", header + "." + payload}) {
    SCOPED_TRACE(text);
    const auto message = verifyError(auth, text);
    EXPECT_FALSE(message.empty());
  }
}

TEST(JwtAuthenticator, TokenWithoutSubjectIsRefused) {
  const JwtAuthenticator auth(hs256());
  auto token = validToken("");
  EXPECT_EQ(verifyError(auth, signHs(token)), "token has no sub claim");
}

TEST(JwtAuthenticator, MalformedTokenTextIsRefused) {
  const JwtAuthenticator auth(hs256());
  for (const std::string text : {"", "not-a-jwt", "a.b.c", "....", "eyJhbGciOiJIUzI1NiJ9.%%%.xyz"}) {
    SCOPED_TRACE(text);
    EXPECT_THROW(auth.verify(text), AuthError);
  }
}

TEST(JwtAuthenticator, ErrorMessagesNeverContainTheTokenText) {
  const JwtAuthenticator auth(hs256());
  const JwtAuthenticator other(hs256("another-secret-that-is-at-least-32-bytes-long"));
  auto expired = validToken();
  expired.setExpiration(fromNow(-60s));
  auto hs512 = validToken();
  auto no_sub = validToken("");
  const std::vector<std::string> tokens{
      other.mint("alice", {"admin"}, 60s),
      signHs(expired),
      signHs(hs512, kSecret, Poco::JWT::Signer::ALGO_HS512),
      signHs(no_sub),
      "garbage-token-text-1234567890",
  };
  for (const auto& token : tokens) {
    SCOPED_TRACE(token);
    const auto message = verifyError(auth, token);
    ASSERT_FALSE(message.empty());
    EXPECT_EQ(message.find(token), std::string::npos);
    // Not even one part of it (header, payload or signature).
    std::size_t start = 0;
    while (start < token.size()) {
      const auto end = std::min(token.find('.', start), token.size());
      const auto part = token.substr(start, end - start);
      if (part.size() >= 8) {
        EXPECT_EQ(message.find(part), std::string::npos) << "message: " << message;
      }
      start = end + 1;
    }
  }
}

TEST(JwtAuthenticator, WithoutSecretTokensAreNotAcceptedAndCannotBeMinted) {
  const JwtAuthenticator auth(hs256(""));
  EXPECT_FALSE(auth.canVerify());
  const JwtAuthenticator other(hs256());
  EXPECT_THROW(auth.verify(other.mint("alice", {}, 60s)), AuthError);
  EXPECT_THROW(auth.mint("alice", {}, 60s), AuthError);
}

TEST(JwtAuthenticator, RequiredFlagIsReported) {
  auto section = hs256();
  section.required = true;
  EXPECT_TRUE(JwtAuthenticator(section).required());
  EXPECT_FALSE(JwtAuthenticator(hs256()).required());
}

TEST(JwtAuthenticator, ConfiguredApiKeysAreAcceptedAndOthersRefused) {
  auto section = hs256();
  section.api_keys = {"key-one-abcdef", "key-two-123456"};
  const JwtAuthenticator auth(section);
  EXPECT_TRUE(auth.isApiKey("key-one-abcdef"));
  EXPECT_TRUE(auth.isApiKey("key-two-123456"));
  for (const std::string key :
       {"", "key-one", "key-one-abcdeg", "key-one-abcdef ", "KEY-ONE-ABCDEF", "key-three-0000"}) {
    SCOPED_TRACE(key);
    EXPECT_FALSE(auth.isApiKey(key));
  }
}

TEST(JwtAuthenticator, NoApiKeysConfiguredAcceptsNone) {
  const JwtAuthenticator auth(hs256());
  EXPECT_FALSE(auth.isApiKey(""));
  EXPECT_FALSE(auth.isApiKey("anything"));
}

TEST(JwtAuthenticator, EmptyConfiguredApiKeyDoesNotAcceptEmptyKey) {
  auto section = hs256();
  section.api_keys = {""};
  EXPECT_FALSE(JwtAuthenticator(section).isApiKey(""));
}

class JwtAuthenticatorRs256 : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    keys_ = writeRsaKeyPair(dir_->path(), "node");
    other_keys_ = writeRsaKeyPair(dir_->path(), "other");
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static AuthSection rs256(const RsaKeyFiles& keys, bool with_private) {
    AuthSection auth;
    auth.algorithm = "RS256";
    auth.public_key_file = keys.public_key;
    if (with_private) auth.private_key_file = keys.private_key;
    return auth;
  }

  static TempDir* dir_;
  static RsaKeyFiles keys_;
  static RsaKeyFiles other_keys_;
};

TempDir* JwtAuthenticatorRs256::dir_ = nullptr;
RsaKeyFiles JwtAuthenticatorRs256::keys_;
RsaKeyFiles JwtAuthenticatorRs256::other_keys_;

TEST_F(JwtAuthenticatorRs256, MintedTokenVerifiesWithThePublicKeyOnly) {
  const JwtAuthenticator minter(rs256(keys_, true));
  const JwtAuthenticator verifier(rs256(keys_, false));
  ASSERT_TRUE(verifier.canVerify());
  const auto token = minter.mint("alice", {"admin", "ops"}, 60s);
  const auto identity = verifier.verify(token);
  EXPECT_EQ(identity.user, "alice");
  EXPECT_EQ(identity.roles, (std::vector<std::string>{"admin", "ops"}));
  EXPECT_TRUE(identity.authenticated);
}

TEST_F(JwtAuthenticatorRs256, TokenSignedWithAnotherKeyIsRefused) {
  const JwtAuthenticator other(rs256(other_keys_, true));
  const JwtAuthenticator verifier(rs256(keys_, false));
  EXPECT_EQ(verifyError(verifier, other.mint("alice", {}, 60s)), "invalid token signature");
}

TEST_F(JwtAuthenticatorRs256, Hs256TokenIsRefusedByAnRs256Verifier) {
  const JwtAuthenticator verifier(rs256(keys_, false));
  auto token = validToken();
  EXPECT_EQ(verifyError(verifier, signHs(token)), "token algorithm not accepted; expected RS256");
}

TEST_F(JwtAuthenticatorRs256, Hs256TokenKeyedWithThePublicKeyTextIsRefused) {
  // The classic algorithm-confusion attack: HMAC keyed with the public PEM.
  std::ifstream in(keys_.public_key);
  const std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(pem.empty());
  const JwtAuthenticator verifier(rs256(keys_, false));
  auto token = validToken();
  EXPECT_THROW(verifier.verify(signHs(token, pem)), AuthError);
}

TEST_F(JwtAuthenticatorRs256, ExpiredRs256TokenIsRefused) {
  Poco::SharedPtr<Poco::Crypto::RSAKey> key(
      new Poco::Crypto::RSAKey(keys_.public_key.string(), keys_.private_key.string(), ""));
  Poco::JWT::Signer signer(key);
  signer.setAlgorithms({Poco::JWT::Signer::ALGO_RS256});
  auto token = validToken();
  token.setExpiration(fromNow(-60s));
  const JwtAuthenticator verifier(rs256(keys_, false));
  EXPECT_EQ(verifyError(verifier, signer.sign(token, Poco::JWT::Signer::ALGO_RS256)), "token expired");
}

TEST_F(JwtAuthenticatorRs256, MintingWithoutPrivateKeyThrows) {
  const JwtAuthenticator verifier(rs256(keys_, false));
  try {
    verifier.mint("alice", {}, 60s);
    FAIL() << "mint() without a private key should throw";
  } catch (const AuthError& e) {
    EXPECT_NE(std::string(e.what()).find("private_key_file"), std::string::npos) << e.what();
  }
}

TEST_F(JwtAuthenticatorRs256, UnreadableKeyFileIsNamedInTheError) {
  auto section = rs256(keys_, false);
  section.public_key_file = dir_->path() / "missing.pub.pem";
  try {
    const JwtAuthenticator auth(section);
    FAIL() << "a missing public key file should throw";
  } catch (const AuthError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.pub.pem"), std::string::npos) << e.what();
  }
}

TEST_F(JwtAuthenticatorRs256, NonPemKeyFileIsNamedInTheError) {
  const auto garbage = dir_->path() / "garbage.pem";
  std::ofstream(garbage) << "this is not a PEM key\n";
  auto section = rs256(keys_, false);
  section.public_key_file = garbage;
  try {
    const JwtAuthenticator auth(section);
    FAIL() << "a non-PEM public key file should throw";
  } catch (const AuthError& e) {
    EXPECT_NE(std::string(e.what()).find("garbage.pem"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace eventnode::core
