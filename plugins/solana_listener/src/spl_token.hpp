#pragma once
// SPL Token (and Token-2022) instruction data: the instruction's name from its
// first byte and, where the layout is fixed, its amount and decimals. Needed
// because p-token prints no `Instruction: <Name>` log line.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace eventnode::plugins::solana_listener {

inline constexpr std::string_view kTokenProgramId = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
inline constexpr std::string_view kToken2022ProgramId = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb";

/// True for the SPL Token and Token-2022 program ids.
bool isTokenProgram(std::string_view program);

/// Decodes Bitcoin-alphabet base58 (Solana's keys, signatures, instruction data).
/// nullopt on a character outside the alphabet or when the input exceeds max_chars.
std::optional<std::vector<std::uint8_t>> base58Decode(std::string_view text, std::size_t max_chars = 4096);
std::string base58Encode(std::span<const std::uint8_t> bytes);

/// The standard name of an SPL Token instruction index (0..24 shared by both
/// programs, 25.. Token-2022 extensions, 255 p-token's Batch), or empty if unknown.
std::string_view tokenInstructionName(std::uint8_t index);

struct TokenInstruction {
  std::uint8_t index = 0;
  std::string name;                      ///< empty for an unknown index
  std::optional<std::uint64_t> amount;   ///< Transfer, Approve, MintTo, Burn and their Checked forms, AmountToUiAmount
  std::optional<std::uint8_t> decimals;  ///< the Checked forms, InitializeMint, InitializeMint2
};

/// Either a decoded instruction or the reason it could not be decoded.
struct TokenDecodeResult {
  std::optional<TokenInstruction> instruction;
  std::string error;  ///< set when instruction is empty, e.g. "MintTo data is 5 bytes; needs 9"
};

/// Decodes raw instruction data. An unknown index decodes with an empty name;
/// empty data or a known layout that is too short is an error. Never throws.
TokenDecodeResult decodeTokenInstruction(std::span<const std::uint8_t> data);
/// Same from base58 text, as getTransaction (encoding "json") gives `data`.
TokenDecodeResult decodeTokenInstructionBase58(std::string_view data);

}  // namespace eventnode::plugins::solana_listener
