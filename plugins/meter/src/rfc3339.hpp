#pragma once
// RFC 3339 timestamps, the only time format of the meter's API and events.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace eventnode::plugins::meter {

/// Milliseconds since the Unix epoch from `2026-12-05T10:15:00Z`, with an
/// optional fraction (digits past milliseconds are dropped) and `Z` or a
/// `±hh:mm` offset. nullopt for anything else, or a date that does not exist.
std::optional<std::int64_t> parseRfc3339Millis(std::string_view text);

/// `2026-12-05T10:15:00Z`, or `2026-12-05T10:15:00.250Z` when not a whole second; always UTC.
std::string formatRfc3339Millis(std::int64_t unix_ms);

/// The wall clock, in milliseconds since the epoch.
std::int64_t nowMillis();

}  // namespace eventnode::plugins::meter
