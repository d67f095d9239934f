#pragma once
/// TIME Coin transactions, votes and outpoints: the value types, and their JSON
/// forms as wallets and masternodes send them. Parsing validates the shape and
/// throws InputError with a message naming the field that is wrong.
#include <eventnode/plugin/json.hpp>

#include <compare>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace eventnode::plugins::utxo {

/// Malformed or refused input from a wallet, an HTTP body or a peer.
class InputError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct OutPoint {
  std::string txid;
  std::uint32_t vout = 0;
  auto operator<=>(const OutPoint&) const = default;
  /// "txid:vout", the form the HTTP API uses.
  std::string key() const { return txid + ":" + std::to_string(vout); }
};

struct TxInput {
  OutPoint previous_output;
  std::vector<std::uint8_t> public_key;
  std::vector<std::uint8_t> signature;
  std::uint32_t sequence = 0xFFFFFFFF;
};

struct TxOutput {
  std::uint64_t amount = 0;
  std::string address;
};

struct Transaction {
  std::string txid;
  std::uint32_t version = 1;
  std::vector<TxInput> inputs;
  std::vector<TxOutput> outputs;
  std::uint32_t lock_time = 0;
  std::int64_t timestamp = 0;

  /// Every input's and output's address is not known here (inputs name
  /// outpoints); see Ledger for the full address set. Saturates at 2^64-1
  /// (parseTransaction refuses outputs that add up to more).
  std::uint64_t outputTotal() const;
};

struct Vote {
  std::string txid;
  std::string voter;
  bool approve = false;
  std::int64_t timestamp = 0;
};

/// The address prefixes: TIME0… on testnet, TIME1… on mainnet.
inline constexpr std::string_view kTestnetPrefix = "TIME0";
inline constexpr std::string_view kMainnetPrefix = "TIME1";

/// True for `prefix` followed by 1..100 ASCII letters and digits.
bool isValidAddress(std::string_view address, std::string_view prefix);
/// Throws InputError naming `field` when `address` is not valid for `prefix`.
void requireAddress(std::string_view address, std::string_view prefix, const std::string& field);

/// A txid is 64 lowercase hex characters.
bool isValidTxid(std::string_view txid);

/// How big a transaction may be. Each input costs one Ed25519 verification
/// over the signed bytes, which grow with inputs and outputs, so checking a
/// transaction costs about inputs × (inputs + outputs): the caps keep the
/// worst case to milliseconds (docs/utxo.md "Limits").
struct TransactionLimits {
  std::size_t max_inputs = 256;
  std::size_t max_outputs = 256;
};

/// JSON values a transaction body or P2P frame may hold. TIME Coin writes keys
/// and signatures as arrays of byte numbers, about 100 values an input, so the
/// core's default (500,000) would refuse a body of 5,000 inputs before the
/// count above could name what is wrong with it. This bound still holds the
/// parsed tree to about 120 MB in the worst shape, inside the byte caps.
inline constexpr std::size_t kMaxTransactionJsonValues = 1'500'000;

/// Parses and checks a transaction: the counts of inputs and outputs against
/// `limits` first (before any input is read), every field's type and range,
/// at least one input and one output, no input twice, output addresses valid
/// for `prefix`, outputs adding up to at most 2^64-1, and `txid` equal to
/// computeTxid(). Throws InputError naming the field (and the limit's key).
Transaction parseTransaction(const plugin::Json& json, std::string_view prefix, const TransactionLimits& limits = {});
plugin::Json toJson(const Transaction& tx);

/// Parses {"txid","vout"}; throws InputError naming `field`.
OutPoint parseOutPoint(const plugin::Json& json, const std::string& field = "outpoint");
/// Parses "txid:vout"; throws InputError.
OutPoint parseOutPointKey(std::string_view key);
plugin::Json toJson(const OutPoint& outpoint);

/// Parses {"txid","voter","approve","timestamp"}; throws InputError.
Vote parseVote(const plugin::Json& json);
plugin::Json toJson(const Vote& vote);

/// Reads an unsigned integer field in [0, max]; throws InputError naming `field`.
std::uint64_t requireUnsigned(const plugin::Json& object, const char* key, std::uint64_t max, const std::string& field);
/// Reads a string field; throws InputError naming `field`.
const std::string& requireString(const plugin::Json& object, const char* key, const std::string& field);

}  // namespace eventnode::plugins::utxo
