#include "meter_events.hpp"

#include "reading.hpp"
#include "rfc3339.hpp"

namespace eventnode::plugins::meter {

using plugin::Json;

Json readingReceived(const std::string& user_id, const std::string& wallet, const std::string& meter_id,
                     double kwh_amount, std::int64_t reading_ms) {
  return {{"type", kMeterReadingReceived}, {"user_id", user_id},       {"wallet_address", wallet},
          {"meter_id", meter_id},          {"kwh_amount", kwh_amount}, {"timestamp", formatRfc3339Millis(reading_ms)}};
}

Json readingValidationFailed(const std::string& user_id, const std::optional<std::string>& wallet,
                             const std::string& meter_id, double kwh_amount, const std::string& reason,
                             std::int64_t timestamp_ms) {
  return {{"type", kMeterReadingValidationFailed},
          {"user_id", user_id},
          {"wallet_address", wallet ? Json(*wallet) : Json(nullptr)},
          {"meter_id", meter_id},
          {"kwh_amount", kwh_amount},
          {"error_reason", reason},
          {"timestamp", formatRfc3339Millis(timestamp_ms)}};
}

Json tokensMinted(const MintRow& mint, std::int64_t minted_ms) {
  return {{"type", kTokensMinted},
          {"user_id", mint.owner},
          {"wallet_address", mint.wallet},
          {"meter_id", mint.meter_id ? Json(*mint.meter_id) : Json(nullptr)},
          {"kwh_amount", static_cast<double>(mint.base_units) / static_cast<double>(kBaseUnitsPerKwh)},
          {"tokens_minted", mint.base_units},
          {"transaction_signature", mint.signature},
          {"timestamp", formatRfc3339Millis(minted_ms)}};
}

Json batchMintingCompleted(const BatchSummary& batch) {
  return {{"type", kBatchMintingCompleted},         {"batch_id", std::to_string(batch.batch_id)},
          {"total_readings", batch.total_readings}, {"successful_mints", batch.successful},
          {"failed_mints", batch.failed},           {"timestamp", formatRfc3339Millis(batch.completed_ms)}};
}

}  // namespace eventnode::plugins::meter
