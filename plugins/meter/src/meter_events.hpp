#pragma once
// The four events of the meter, in exactly the seed's shapes: JSON objects
// tagged by "type", RFC 3339 UTC timestamps, amounts in kWh, tokens as
// integer base units (kWh × 10^9).
#include "meter_store.hpp"

#include <eventnode/plugin/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace eventnode::plugins::meter {

inline constexpr const char* kMeterReadingReceived = "MeterReadingReceived";
inline constexpr const char* kMeterReadingValidationFailed = "MeterReadingValidationFailed";
inline constexpr const char* kTokensMinted = "TokensMinted";
inline constexpr const char* kBatchMintingCompleted = "BatchMintingCompleted";

/// `timestamp` is the reading's time.
plugin::Json readingReceived(const std::string& user_id, const std::string& wallet, const std::string& meter_id,
                             double kwh_amount, std::int64_t reading_ms);

/// `wallet` is null when the meter is not registered; `timestamp` is the
/// reading's time when it could be read, else the refusal's.
plugin::Json readingValidationFailed(const std::string& user_id, const std::optional<std::string>& wallet,
                                     const std::string& meter_id, double kwh_amount, const std::string& reason,
                                     std::int64_t timestamp_ms);

/// One confirmed mint; `meter_id` null when it covers several meters.
plugin::Json tokensMinted(const MintRow& mint, std::int64_t minted_ms);

plugin::Json batchMintingCompleted(const BatchSummary& batch);

}  // namespace eventnode::plugins::meter
