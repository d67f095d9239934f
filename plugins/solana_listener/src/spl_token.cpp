#include "spl_token.hpp"

#include <array>

namespace eventnode::plugins::solana_listener {
namespace {

constexpr char kBase58Alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

int base58Value(char c) {
  static const auto table = [] {
    std::array<signed char, 256> t{};
    t.fill(-1);
    for (int i = 0; i < 58; ++i) t[static_cast<unsigned char>(kBase58Alphabet[i])] = static_cast<signed char>(i);
    return t;
  }();
  return table[static_cast<unsigned char>(c)];
}

constexpr std::array<std::string_view, 45> kNames = {
    "InitializeMint",
    "InitializeAccount",
    "InitializeMultisig",
    "Transfer",
    "Approve",
    "Revoke",
    "SetAuthority",
    "MintTo",
    "Burn",
    "CloseAccount",
    "FreezeAccount",
    "ThawAccount",
    "TransferChecked",
    "ApproveChecked",
    "MintToChecked",
    "BurnChecked",
    "InitializeAccount2",
    "SyncNative",
    "InitializeAccount3",
    "InitializeMultisig2",
    "InitializeMint2",
    "GetAccountDataSize",
    "InitializeImmutableOwner",
    "AmountToUiAmount",
    "UiAmountToAmount",
    // Token-2022 extensions.
    "InitializeMintCloseAuthority",
    "TransferFeeExtension",
    "ConfidentialTransferExtension",
    "DefaultAccountStateExtension",
    "Reallocate",
    "MemoTransferExtension",
    "CreateNativeMint",
    "InitializeNonTransferableMint",
    "InterestBearingMintExtension",
    "CpiGuardExtension",
    "InitializePermanentDelegate",
    "TransferHookExtension",
    "ConfidentialTransferFeeExtension",
    "WithdrawExcessLamports",
    "MetadataPointerExtension",
    "GroupPointerExtension",
    "GroupMemberPointerExtension",
    "ConfidentialMintBurnExtension",
    "ScaledUiAmountExtension",
    "PausableExtension",
};

enum class Layout { None, Amount, AmountDecimals, Decimals };

Layout layoutOf(std::uint8_t index) {
  switch (index) {
    case 3:   // Transfer
    case 4:   // Approve
    case 7:   // MintTo
    case 8:   // Burn
    case 23:  // AmountToUiAmount
      return Layout::Amount;
    case 12:  // TransferChecked
    case 13:  // ApproveChecked
    case 14:  // MintToChecked
    case 15:  // BurnChecked
      return Layout::AmountDecimals;
    case 0:   // InitializeMint: decimals, then the authorities
    case 20:  // InitializeMint2
      return Layout::Decimals;
    default:
      return Layout::None;
  }
}

std::uint64_t readU64Le(std::span<const std::uint8_t> bytes) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[static_cast<std::size_t>(i)];
  return value;
}

}  // namespace

bool isTokenProgram(std::string_view program) {
  return program == kTokenProgramId || program == kToken2022ProgramId;
}

std::optional<std::vector<std::uint8_t>> base58Decode(std::string_view text, std::size_t max_chars) {
  if (text.size() > max_chars) return std::nullopt;
  std::size_t zeros = 0;
  while (zeros < text.size() && text[zeros] == '1') ++zeros;
  // Base-256 digits of the number, little-endian, grown as the base-58 digits are folded in.
  std::vector<std::uint8_t> number;
  number.reserve(text.size() * 733 / 1000 + 1);
  for (std::size_t i = zeros; i < text.size(); ++i) {
    const int value = base58Value(text[i]);
    if (value < 0) return std::nullopt;
    std::uint32_t carry = static_cast<std::uint32_t>(value);
    for (auto& digit : number) {
      carry += static_cast<std::uint32_t>(digit) * 58;
      digit = static_cast<std::uint8_t>(carry & 0xff);
      carry >>= 8;
    }
    while (carry > 0) {
      number.push_back(static_cast<std::uint8_t>(carry & 0xff));
      carry >>= 8;
    }
  }
  std::vector<std::uint8_t> out(zeros, 0);
  out.insert(out.end(), number.rbegin(), number.rend());
  return out;
}

std::string base58Encode(std::span<const std::uint8_t> bytes) {
  std::size_t zeros = 0;
  while (zeros < bytes.size() && bytes[zeros] == 0) ++zeros;
  std::vector<std::uint8_t> digits;  // base-58, little-endian
  digits.reserve(bytes.size() * 138 / 100 + 1);
  for (std::size_t i = zeros; i < bytes.size(); ++i) {
    std::uint32_t carry = bytes[i];
    for (auto& digit : digits) {
      carry += static_cast<std::uint32_t>(digit) << 8;
      digit = static_cast<std::uint8_t>(carry % 58);
      carry /= 58;
    }
    while (carry > 0) {
      digits.push_back(static_cast<std::uint8_t>(carry % 58));
      carry /= 58;
    }
  }
  std::string out(zeros, '1');
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) out += kBase58Alphabet[*it];
  return out;
}

std::string_view tokenInstructionName(std::uint8_t index) {
  if (index < kNames.size()) return kNames[index];
  if (index == 255) return "Batch";
  return {};
}

TokenDecodeResult decodeTokenInstruction(std::span<const std::uint8_t> data) {
  if (data.empty()) return {std::nullopt, "token instruction data is empty"};
  TokenInstruction instruction;
  instruction.index = data[0];
  instruction.name = std::string(tokenInstructionName(data[0]));
  const auto layout = layoutOf(data[0]);
  const std::size_t needed = layout == Layout::Amount           ? 9
                             : layout == Layout::AmountDecimals ? 10
                             : layout == Layout::Decimals       ? 2
                                                                : 1;
  if (data.size() < needed) {
    return {std::nullopt,
            instruction.name + " data is " + std::to_string(data.size()) + " bytes; needs " + std::to_string(needed)};
  }
  if (layout == Layout::Amount || layout == Layout::AmountDecimals) instruction.amount = readU64Le(data.subspan(1, 8));
  if (layout == Layout::AmountDecimals) instruction.decimals = data[9];
  if (layout == Layout::Decimals) instruction.decimals = data[1];
  return {std::move(instruction), {}};
}

TokenDecodeResult decodeTokenInstructionBase58(std::string_view data) {
  auto bytes = base58Decode(data);
  if (!bytes) return {std::nullopt, "token instruction data is not base58 (or longer than 4096 characters)"};
  return decodeTokenInstruction(*bytes);
}

}  // namespace eventnode::plugins::solana_listener
