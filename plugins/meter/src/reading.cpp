#include "reading.hpp"

#include "rfc3339.hpp"

#include <eventnode/plugin/json.hpp>

#include <sodium.h>

#include <cmath>

namespace eventnode::plugins::meter {

using plugin::Json;

bool isValidMeterId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::variant<Submission, BodyError> parseSubmission(std::string_view body) {
  // A reading is a few hundred bytes; nothing legitimate comes near this.
  const auto read = plugin::readJson(body, {.max_depth = 8, .max_bytes = 64 * 1024});
  if (!read.ok()) return BodyError{"", "the body is not JSON: " + read.error};
  const auto& json = read.value;
  if (!json.is_object()) return BodyError{"", "the body must be a JSON object"};
  Submission reading;
  const auto meter = json.find("meter_id");
  if (meter == json.end()) return BodyError{"meter_id", "missing field meter_id"};
  if (!meter->is_string() || !isValidMeterId(meter->get_ref<const std::string&>()))
    return BodyError{"meter_id", "meter_id must be a string of 1 to 64 characters A-Z a-z 0-9 . _ : -"};
  reading.meter_id = meter->get<std::string>();
  const auto kwh = json.find("kwh_amount");
  if (kwh == json.end()) return BodyError{"kwh_amount", "missing field kwh_amount"};
  if (!kwh->is_number()) return BodyError{"kwh_amount", "kwh_amount must be a number (kWh)"};
  reading.kwh_amount = kwh->get<double>();
  const auto at = json.find("reading_timestamp");
  if (at == json.end()) return BodyError{"reading_timestamp", "missing field reading_timestamp"};
  const auto ms = at->is_string() ? parseRfc3339Millis(at->get_ref<const std::string&>()) : std::nullopt;
  if (!ms)
    return BodyError{"reading_timestamp", "reading_timestamp must be an RFC 3339 time, e.g. 2026-12-05T10:15:00Z"};
  reading.reading_ms = *ms;
  reading.reading_timestamp = at->get<std::string>();
  if (const auto sig = json.find("meter_signature"); sig != json.end() && !sig->is_null()) {
    if (!sig->is_string() || sig->get_ref<const std::string&>().size() > 128)
      return BodyError{"meter_signature", "meter_signature must be a base58 Ed25519 signature (64 bytes)"};
    reading.signature = sig->get<std::string>();
  }
  return reading;
}

std::optional<std::string> checkReading(const Submission& reading, const ReadingLimits& limits, std::int64_t now_ms) {
  if (!std::isfinite(reading.kwh_amount) || reading.kwh_amount <= 0) return "kwh_amount must be greater than 0";
  if (reading.kwh_amount > limits.max_kwh) {
    return "kwh_amount " + Json(reading.kwh_amount).dump() + " exceeds the maximum of " + Json(limits.max_kwh).dump() +
           " kWh per reading";
  }
  if (kwhToBaseUnits(reading.kwh_amount) <= 0) return "kwh_amount is below the token's smallest unit (1e-9 kWh)";
  if (reading.reading_ms > now_ms + limits.max_clock_skew_ms)
    return "reading_timestamp " + reading.reading_timestamp + " is in the future";
  if (reading.reading_ms < now_ms - limits.max_age_ms) {
    return "reading_timestamp " + reading.reading_timestamp + " is older than the maximum age of " +
           std::to_string(limits.max_age_ms / 1000) + " s";
  }
  return std::nullopt;
}

std::int64_t kwhToBaseUnits(double kwh) {
  return std::llround(kwh * static_cast<double>(kBaseUnitsPerKwh));
}

std::string canonicalReadingBytes(std::string_view meter_id, std::int64_t base_units, std::int64_t reading_ms) {
  std::string bytes = "eventnode-meter-reading-v1\n";
  bytes += meter_id;
  bytes += '\n';
  bytes += std::to_string(base_units);
  bytes += '\n';
  bytes += std::to_string(reading_ms);
  return bytes;
}

bool verifyMeterSignature(const PublicKey& key, std::string_view canonical, std::string_view signature_base58) {
  const auto signature = parseSignature(signature_base58);
  if (!signature) return false;
  return crypto_sign_verify_detached(signature->data(), reinterpret_cast<const unsigned char*>(canonical.data()),
                                     canonical.size(), key.data()) == 0;
}

}  // namespace eventnode::plugins::meter
