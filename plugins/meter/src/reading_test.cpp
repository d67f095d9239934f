#include "reading.hpp"

#include "rfc3339.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

namespace eventnode::plugins::meter {
namespace {

const std::int64_t kNow = 1796465700000;  // 2026-12-05T10:15:00Z

Submission submission(double kwh, std::int64_t at_ms) {
  return {"m-1", kwh, at_ms, formatRfc3339Millis(at_ms), std::nullopt};
}

TEST(ParseSubmission, NamesTheFieldThatIsMissingOrWrong) {
  struct Case {
    const char* body;
    const char* field;
  };
  const Case cases[] = {
      {R"({"kwh_amount":1,"reading_timestamp":"2026-12-05T10:15:00Z"})", "meter_id"},
      {R"({"meter_id":"m-1","reading_timestamp":"2026-12-05T10:15:00Z"})", "kwh_amount"},
      {R"({"meter_id":"m-1","kwh_amount":"1","reading_timestamp":"2026-12-05T10:15:00Z"})", "kwh_amount"},
      {R"({"meter_id":"m-1","kwh_amount":1})", "reading_timestamp"},
      {R"({"meter_id":"m-1","kwh_amount":1,"reading_timestamp":"yesterday"})", "reading_timestamp"},
      {R"({"meter_id":"has space","kwh_amount":1,"reading_timestamp":"2026-12-05T10:15:00Z"})", "meter_id"},
      {R"({"meter_id":"m-1","kwh_amount":1,"reading_timestamp":"2026-12-05T10:15:00Z","meter_signature":7})",
       "meter_signature"},
      {"not json", ""},
      {"[1,2]", ""},
  };
  for (const auto& c : cases) {
    const auto parsed = parseSubmission(c.body);
    ASSERT_TRUE(std::holds_alternative<BodyError>(parsed)) << c.body;
    const auto& error = std::get<BodyError>(parsed);
    EXPECT_EQ(error.field, c.field) << c.body;
    EXPECT_NE(error.message.find(c.field), std::string::npos) << error.message;
  }
}

TEST(ParseSubmission, ReadsAWellFormedReading) {
  const auto parsed = parseSubmission(
      R"({"meter_id":"m-1","kwh_amount":2.5,"reading_timestamp":"2026-12-05T10:15:00Z","meter_signature":"abc"})");
  ASSERT_TRUE(std::holds_alternative<Submission>(parsed));
  const auto& reading = std::get<Submission>(parsed);
  EXPECT_EQ(reading.meter_id, "m-1");
  EXPECT_DOUBLE_EQ(reading.kwh_amount, 2.5);
  EXPECT_EQ(reading.reading_ms, kNow);
  EXPECT_EQ(reading.signature, "abc");
}

TEST(CheckReading, RefusesAmountsAndTimesOutOfRangeWithAReason) {
  const ReadingLimits limits{};  // 100 kWh, 7 days, 60 s
  struct Case {
    Submission reading;
    const char* reason;  // empty: accepted
  };
  const Case cases[] = {
      {submission(0, kNow), "greater than 0"},
      {submission(-1, kNow), "greater than 0"},
      {submission(100.5, kNow), "exceeds the maximum of 100"},
      {submission(100, kNow), ""},
      {submission(1e-10, kNow), "smallest unit"},
      {submission(1, kNow + 61'000), "in the future"},
      {submission(1, kNow + 59'000), ""},
      {submission(1, kNow - 7LL * 24 * 3600 * 1000 - 1000), "older than"},
      {submission(1, kNow - 6LL * 24 * 3600 * 1000), ""},
  };
  for (const auto& c : cases) {
    const auto reason = checkReading(c.reading, limits, kNow);
    if (std::string(c.reason).empty()) {
      EXPECT_FALSE(reason.has_value()) << *reason;
    } else {
      ASSERT_TRUE(reason.has_value()) << c.reason;
      EXPECT_NE(reason->find(c.reason), std::string::npos) << *reason;
    }
  }
}

TEST(KwhToBaseUnits, IsNineDecimalsRoundedToTheNearestUnit) {
  EXPECT_EQ(kwhToBaseUnits(1), 1'000'000'000);
  EXPECT_EQ(kwhToBaseUnits(12.345), 12'345'000'000);
  EXPECT_EQ(kwhToBaseUnits(0.1 + 0.2), 300'000'000);
}

TEST(CanonicalReadingBytes, AreTheDocumentedLines) {
  EXPECT_EQ(canonicalReadingBytes("m-1", 2'500'000'000, kNow),
            "eventnode-meter-reading-v1\nm-1\n2500000000\n1796465700000");
}

TEST(VerifyMeterSignature, AcceptsTheMetersSignatureAndNothingElse) {
  std::array<std::uint8_t, 32> seed{};
  seed.fill(9);
  PublicKey key{};
  std::array<std::uint8_t, 64> secret{};
  crypto_sign_seed_keypair(key.data(), secret.data(), seed.data());
  const auto canonical = canonicalReadingBytes("m-1", 2'500'000'000, kNow);
  Signature signature{};
  crypto_sign_detached(signature.data(), nullptr, reinterpret_cast<const unsigned char*>(canonical.data()),
                       canonical.size(), secret.data());
  EXPECT_TRUE(verifyMeterSignature(key, canonical, toBase58(signature)));
  EXPECT_FALSE(verifyMeterSignature(key, canonicalReadingBytes("m-1", 2'500'000'001, kNow), toBase58(signature)));
  EXPECT_FALSE(verifyMeterSignature(key, canonical, "not-base58!"));
  EXPECT_FALSE(verifyMeterSignature(key, canonical, toBase58(key)));  // 32 bytes, not 64
}

}  // namespace
}  // namespace eventnode::plugins::meter
