#include "transaction.hpp"

#include "txid.hpp"

#include <limits>
#include <set>

namespace eventnode::plugins::utxo {
namespace {

using plugin::Json;

constexpr std::size_t kMaxKeyBytes = 1024;

const Json& requireField(const Json& object, const char* key, const std::string& field) {
  if (!object.is_object()) throw InputError(field + " must be an object");
  auto it = object.find(key);
  if (it == object.end()) throw InputError(field + "." + key + " is missing");
  return *it;
}

std::int64_t requireSigned(const Json& object, const char* key, const std::string& field) {
  const auto& value = requireField(object, key, field);
  if (value.is_number_unsigned() && value.get<std::uint64_t>() <= std::numeric_limits<std::int64_t>::max()) {
    return static_cast<std::int64_t>(value.get<std::uint64_t>());
  }
  if (!value.is_number_integer() || value.is_number_unsigned()) {
    throw InputError(field + "." + key + " must be an integer");
  }
  return value.get<std::int64_t>();
}

std::vector<std::uint8_t> requireBytes(const Json& object, const char* key, const std::string& field) {
  const auto& value = requireField(object, key, field);
  const auto name = field + "." + key;
  if (!value.is_array()) throw InputError(name + " must be an array of bytes");
  if (value.size() > kMaxKeyBytes) throw InputError(name + " is longer than " + std::to_string(kMaxKeyBytes) + " bytes");
  std::vector<std::uint8_t> bytes;
  bytes.reserve(value.size());
  for (const auto& byte : value) {
    if (!byte.is_number_unsigned() || byte.get<std::uint64_t>() > 255) {
      throw InputError(name + " must hold integers 0..255");
    }
    bytes.push_back(static_cast<std::uint8_t>(byte.get<std::uint64_t>()));
  }
  return bytes;
}

Json bytesJson(const std::vector<std::uint8_t>& bytes) {
  auto array = Json::array();
  for (const auto byte : bytes) array.push_back(byte);
  return array;
}

}  // namespace

std::uint64_t Transaction::outputTotal() const {
  std::uint64_t total = 0;
  for (const auto& output : outputs) {
    if (total + output.amount < total) return std::numeric_limits<std::uint64_t>::max();
    total += output.amount;
  }
  return total;
}

const std::string& requireString(const Json& object, const char* key, const std::string& field) {
  const auto& value = requireField(object, key, field);
  if (!value.is_string()) throw InputError(field + "." + key + " must be a string");
  return value.get_ref<const std::string&>();
}

std::uint64_t requireUnsigned(const Json& object, const char* key, std::uint64_t max, const std::string& field) {
  const auto& value = requireField(object, key, field);
  // Parsed text gives non-negative integers as unsigned; JSON built in code may hold them signed.
  const bool non_negative = value.is_number_unsigned() || (value.is_number_integer() && value.get<std::int64_t>() >= 0);
  if (!non_negative || value.get<std::uint64_t>() > max) {
    throw InputError(field + "." + key + " must be an integer from 0 to " + std::to_string(max));
  }
  return value.get<std::uint64_t>();
}

bool isValidAddress(std::string_view address, std::string_view prefix) {
  if (address.size() <= prefix.size() || address.size() > prefix.size() + 100) return false;
  if (address.substr(0, prefix.size()) != prefix) return false;
  for (const auto c : address.substr(prefix.size())) {
    const bool alphanumeric = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alphanumeric) return false;
  }
  return true;
}

void requireAddress(std::string_view address, std::string_view prefix, const std::string& field) {
  if (!isValidAddress(address, prefix)) {
    throw InputError(field + " is not a valid address for this network: it must be " + std::string(prefix) +
                     " followed by 1 to 100 letters and digits");
  }
}

bool isValidTxid(std::string_view txid) {
  if (txid.size() != 64) return false;
  for (const auto c : txid) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

OutPoint parseOutPoint(const Json& json, const std::string& field) {
  OutPoint outpoint;
  outpoint.txid = requireString(json, "txid", field);
  if (!isValidTxid(outpoint.txid)) throw InputError(field + ".txid must be 64 lowercase hex characters");
  outpoint.vout = static_cast<std::uint32_t>(requireUnsigned(json, "vout", 0xFFFFFFFFu, field));
  return outpoint;
}

OutPoint parseOutPointKey(std::string_view key) {
  const auto colon = key.find(':');
  if (colon == std::string_view::npos) throw InputError("an outpoint is written txid:vout");
  OutPoint outpoint{std::string(key.substr(0, colon)), 0};
  if (!isValidTxid(outpoint.txid)) throw InputError("the outpoint's txid must be 64 lowercase hex characters");
  const auto vout = key.substr(colon + 1);
  if (vout.empty() || vout.size() > 10) throw InputError("the outpoint's vout must be a number from 0 to 4294967295");
  std::uint64_t value = 0;
  for (const auto c : vout) {
    if (c < '0' || c > '9') throw InputError("the outpoint's vout must be a number from 0 to 4294967295");
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value > 0xFFFFFFFFu) throw InputError("the outpoint's vout must be a number from 0 to 4294967295");
  outpoint.vout = static_cast<std::uint32_t>(value);
  return outpoint;
}

Json toJson(const OutPoint& outpoint) { return Json{{"txid", outpoint.txid}, {"vout", outpoint.vout}}; }

Transaction parseTransaction(const Json& json, std::string_view prefix, const TransactionLimits& limits) {
  if (!json.is_object()) throw InputError("a transaction must be a JSON object");
  Transaction tx;
  tx.txid = requireString(json, "txid", "transaction");
  if (!isValidTxid(tx.txid)) throw InputError("transaction.txid must be 64 lowercase hex characters");
  tx.version = static_cast<std::uint32_t>(requireUnsigned(json, "version", 0xFFFFFFFFu, "transaction"));
  tx.lock_time = static_cast<std::uint32_t>(requireUnsigned(json, "lock_time", 0xFFFFFFFFu, "transaction"));
  tx.timestamp = requireSigned(json, "timestamp", "transaction");

  // The counts first: they bound everything after (reading, hashing, verifying).
  const auto& inputs = requireField(json, "inputs", "transaction");
  if (!inputs.is_array() || inputs.empty()) throw InputError("transaction.inputs must be a non-empty array");
  if (inputs.size() > limits.max_inputs) {
    throw InputError("transaction.inputs has " + std::to_string(inputs.size()) +
                     " inputs; a transaction may have at most " + std::to_string(limits.max_inputs) +
                     " (max_inputs_per_transaction)");
  }
  const auto& outputs = requireField(json, "outputs", "transaction");
  if (!outputs.is_array() || outputs.empty()) throw InputError("transaction.outputs must be a non-empty array");
  if (outputs.size() > limits.max_outputs) {
    throw InputError("transaction.outputs has " + std::to_string(outputs.size()) +
                     " outputs; a transaction may have at most " + std::to_string(limits.max_outputs) +
                     " (max_outputs_per_transaction)");
  }

  std::set<OutPoint> spent;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto field = "transaction.inputs[" + std::to_string(i) + "]";
    TxInput input;
    input.previous_output = parseOutPoint(requireField(inputs[i], "previous_output", field), field + ".previous_output");
    input.public_key = requireBytes(inputs[i], "public_key", field);
    input.signature = requireBytes(inputs[i], "signature", field);
    input.sequence = static_cast<std::uint32_t>(requireUnsigned(inputs[i], "sequence", 0xFFFFFFFFu, field));
    if (!spent.insert(input.previous_output).second) {
      throw InputError(field + " spends " + input.previous_output.key() + " a second time");
    }
    tx.inputs.push_back(std::move(input));
  }

  std::uint64_t total = 0;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const auto field = "transaction.outputs[" + std::to_string(i) + "]";
    TxOutput output;
    output.amount = requireUnsigned(outputs[i], "amount", std::numeric_limits<std::uint64_t>::max(), field);
    output.address = requireString(outputs[i], "address", field);
    requireAddress(output.address, prefix, field + ".address");
    if (total + output.amount < total) throw InputError("transaction.outputs add up to more than 2^64-1");
    total += output.amount;
    tx.outputs.push_back(std::move(output));
  }

  const auto computed = computeTxid(tx);
  if (computed != tx.txid) {
    throw InputError("transaction.txid does not match its contents: computed " + computed);
  }
  return tx;
}

Json toJson(const Transaction& tx) {
  auto inputs = Json::array();
  for (const auto& input : tx.inputs) {
    inputs.push_back(Json{{"previous_output", toJson(input.previous_output)},
                          {"public_key", bytesJson(input.public_key)},
                          {"signature", bytesJson(input.signature)},
                          {"sequence", input.sequence}});
  }
  auto outputs = Json::array();
  for (const auto& output : tx.outputs) outputs.push_back(Json{{"amount", output.amount}, {"address", output.address}});
  return Json{{"txid", tx.txid},         {"version", tx.version},     {"inputs", std::move(inputs)},
              {"outputs", std::move(outputs)}, {"lock_time", tx.lock_time}, {"timestamp", tx.timestamp}};
}

Vote parseVote(const Json& json) {
  if (!json.is_object()) throw InputError("a vote must be a JSON object");
  Vote vote;
  vote.txid = requireString(json, "txid", "vote");
  if (!isValidTxid(vote.txid)) throw InputError("vote.txid must be 64 lowercase hex characters");
  vote.voter = requireString(json, "voter", "vote");
  if (vote.voter.empty()) throw InputError("vote.voter must not be empty");
  const auto& approve = requireField(json, "approve", "vote");
  if (!approve.is_boolean()) throw InputError("vote.approve must be true or false");
  vote.approve = approve.get<bool>();
  vote.timestamp = requireSigned(json, "timestamp", "vote");
  return vote;
}

Json toJson(const Vote& vote) {
  return Json{{"txid", vote.txid}, {"voter", vote.voter}, {"approve", vote.approve}, {"timestamp", vote.timestamp}};
}

}  // namespace eventnode::plugins::utxo
