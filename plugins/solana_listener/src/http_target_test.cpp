#include "http_target.hpp"

#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <stdexcept>
#include <string>

namespace eventnode::plugins::solana_listener {
namespace {

std::string refusal(const std::string& ca_file) {
  try {
    tlsClientContext(ca_file);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(TlsClientContext, TheSystemStoreAloneNeedsNoFile) {
  const auto context = tlsClientContext("");
  EXPECT_FALSE(context.isNull());
  EXPECT_EQ(context.get(), tlsClientContext("").get()) << "one context per file, made once";
}

TEST(TlsClientContext, AMissingFileIsRefusedWithItsName) {
  test_support::TempDir dir("solana");
  const auto missing = (dir.path() / "no-such-ca.pem").string();
  const auto message = refusal(missing);
  EXPECT_NE(message.find("tls_ca_file " + missing), std::string::npos) << message;
}

TEST(TlsClientContext, AFileWithoutCertificatesIsRefusedWithItsName) {
  test_support::TempDir dir("solana");
  const auto garbage = (dir.path() / "not-pem.txt").string();
  std::ofstream(garbage) << "this is not a certificate\n";
  const auto message = refusal(garbage);
  EXPECT_NE(message.find("tls_ca_file " + garbage), std::string::npos) << message;
  // Refused again, not cached as if it had worked.
  EXPECT_EQ(refusal(garbage), message);
}

}  // namespace
}  // namespace eventnode::plugins::solana_listener
