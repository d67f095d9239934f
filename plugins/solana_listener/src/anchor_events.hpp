#pragma once
// Anchor discriminators and the resolution of `Program data:` payloads into
// the event names configured per program.
#include "log_parser.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace eventnode::plugins::solana_listener {

using Discriminator = std::array<std::uint8_t, 8>;

/// sha256("event:<name>")[0..8], the prefix Anchor's emit! puts before an event's Borsh data.
Discriminator eventDiscriminator(std::string_view name);
/// sha256("global:<snake_name>")[0..8], the prefix of an Anchor instruction's data.
Discriminator instructionDiscriminator(std::string_view snake_name);
/// Anchor's conversion of an instruction name to its method name: "InitializeMint" → "initialize_mint".
std::string toSnakeCase(std::string_view name);

/// Decodes standard base64 (padding optional, no whitespace); nullopt on any bad character
/// or when the decoded size would exceed max_bytes.
std::optional<std::vector<std::uint8_t>> base64Decode(std::string_view text, std::size_t max_bytes = 1 << 20);
std::string base64Encode(std::span<const std::uint8_t> bytes);

/// One configured Anchor event found in a transaction's logs.
struct AnchorEvent {
  std::size_t invocation = 0;  ///< index into ParsedLogs::invocations
  std::string program;
  std::string name;
  std::string data;  ///< the `Program data:` chunk as logged (base64, discriminator included)
};

/// The event names to recognise, per program id. Filled at configure time,
/// then read-only: concurrent resolve() calls are safe once no add() runs.
class AnchorEventRegistry {
 public:
  /// Registers `name` for `program`. Throws std::invalid_argument when the
  /// name is empty or its discriminator collides with another name of that program.
  void add(const std::string& program, const std::string& name);

  /// The configured name whose discriminator starts `data`, for that program.
  std::optional<std::string> resolve(std::string_view program, std::span<const std::uint8_t> data) const;
  /// Same, from a base64 chunk; nullopt for bad base64 too.
  std::optional<std::string> resolveBase64(std::string_view program, std::string_view chunk) const;

  bool empty() const { return by_program_.empty(); }

  /// The configured events of every `Program data:` line, in log order. A
  /// line's first chunk is the one Anchor's emit! writes; later chunks are ignored.
  std::vector<AnchorEvent> extract(const ParsedLogs& logs) const;

 private:
  struct Entry {
    Discriminator discriminator;
    std::string name;
  };
  std::unordered_map<std::string, std::vector<Entry>> by_program_;
};

}  // namespace eventnode::plugins::solana_listener
