#pragma once
// A reading as submitted, and the checks that need no storage: the body's
// shape (400 naming the field), the amount and the time (validation
// failures), and the meter's signature over the reading's canonical bytes.
#include "solana_keys.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace eventnode::plugins::meter {

/// One kWh is 10^9 base units of the energy token (9 decimals).
inline constexpr std::int64_t kBaseUnitsPerKwh = 1'000'000'000;

struct Submission {
  std::string meter_id;
  double kwh_amount = 0;
  std::int64_t reading_ms = 0;           ///< reading_timestamp, ms since the epoch
  std::string reading_timestamp;         ///< as the client sent it
  std::optional<std::string> signature;  ///< meter_signature, base58 of 64 bytes
};

/// A body the API cannot read: answered 400, no event (nothing says whose it is).
struct BodyError {
  std::string field;    ///< the field at fault, or "" for the body as a whole
  std::string message;  ///< names the field and what it must be
};

/// Reads the submit-reading body (with plugin::readJson's limits). Field
/// types and presence are checked here; ranges are checkReading()'s.
std::variant<Submission, BodyError> parseSubmission(std::string_view body);

struct ReadingLimits {
  double max_kwh = 100;
  std::int64_t max_age_ms = 7LL * 24 * 3600 * 1000;
  std::int64_t max_clock_skew_ms = 60'000;
};

/// The amount and time checks; the reason a user reads when one fails.
std::optional<std::string> checkReading(const Submission& reading, const ReadingLimits& limits, std::int64_t now_ms);

/// kWh in base units, rounded to the nearest unit (the amount minted).
std::int64_t kwhToBaseUnits(double kwh);

/// What a meter signs: UTF-8 of
///   "eventnode-meter-reading-v1\n" + meter_id + "\n" + kWh in base units (decimal) + "\n" + reading time in
///   Unix milliseconds (decimal)
/// so the signature fixes the amount minted and the reading's time, not their spelling in JSON.
std::string canonicalReadingBytes(std::string_view meter_id, std::int64_t base_units, std::int64_t reading_ms);

/// Whether `signature_base58` is the Ed25519 signature of `canonical` by `key` (libsodium).
bool verifyMeterSignature(const PublicKey& key, std::string_view canonical, std::string_view signature_base58);

/// Meter ids: 1..64 characters of [A-Za-z0-9._:-].
bool isValidMeterId(std::string_view id);

}  // namespace eventnode::plugins::meter
