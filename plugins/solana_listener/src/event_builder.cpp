#include "event_builder.hpp"

#include "spl_token.hpp"

#include <unordered_map>
#include <vector>

namespace eventnode::plugins::solana_listener {
namespace {

using plugin::Json;

/// Thrown only inside this file, turned into BuildResult::error at the API boundary.
struct ShapeError {
  std::string message;
};

[[noreturn]] void fail(std::string message) {
  throw ShapeError{std::move(message)};
}

const Json& field(const Json& object, const char* key, const std::string& path) {
  auto found = object.find(key);
  if (found == object.end()) fail(path + "." + key + ": missing");
  return *found;
}

const Json& objectAt(const Json& object, const char* key, const std::string& path) {
  const auto& value = field(object, key, path);
  if (!value.is_object()) fail(path + "." + key + ": expected an object, got " + value.type_name());
  return value;
}

/// Parsed JSON holds positive numbers as unsigned, but a Json built in code holds them signed.
bool isNonNegativeInteger(const Json& value) {
  return value.is_number_unsigned() || (value.is_number_integer() && value.get<std::int64_t>() >= 0);
}

std::uint64_t unsignedAt(const Json& object, const char* key, const std::string& path) {
  const auto& value = field(object, key, path);
  if (!isNonNegativeInteger(value)) {
    if (value.is_number_integer()) fail(path + "." + key + ": expected a non-negative integer");
    fail(path + "." + key + ": expected an unsigned integer, got " + value.type_name());
  }
  return value.get<std::uint64_t>();
}

std::string signatureAt(const Json& value, const std::string& path) {
  if (!value.is_string()) fail(path + ": expected a base58 signature string, got " + value.type_name());
  const auto& text = value.get_ref<const std::string&>();
  if (text.size() > 100) fail(path + ": " + std::to_string(text.size()) + " characters; a signature has at most 88");
  auto bytes = base58Decode(text);
  if (!bytes) fail(path + ": not base58");
  if (bytes->size() != 64) fail(path + ": decodes to " + std::to_string(bytes->size()) + " bytes; a signature has 64");
  return text;
}

const Json& errAt(const Json& object, const char* key, const std::string& path) {
  const auto& value = field(object, key, path);
  if (!value.is_null() && !value.is_object() && !value.is_string()) {
    fail(path + "." + key + ": expected null, an object or a string, got " + value.type_name());
  }
  return value;
}

std::vector<std::string> logLines(const Json& value, const std::string& path, const EventBuilderConfig& config) {
  std::vector<std::string> lines;
  if (value.is_null()) return lines;  // getTransaction gives null when the node kept no logs
  if (!value.is_array()) fail(path + ": expected an array of strings, got " + value.type_name());
  if (value.size() > config.max_log_lines) {
    fail(path + ": " + std::to_string(value.size()) + " lines exceed the limit of " +
         std::to_string(config.max_log_lines));
  }
  lines.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto& line = value[i];
    // The path is spelled out only for a refusal: this loop runs for every log line.
    const auto at = [&] { return path + "[" + std::to_string(i) + "]"; };
    if (!line.is_string()) fail(at() + ": expected a string, got " + line.type_name());
    const auto& text = line.get_ref<const std::string&>();
    if (text.size() > config.max_log_line_length) {
      fail(at() + ": " + std::to_string(text.size()) + " bytes exceed the line limit of " +
           std::to_string(config.max_log_line_length));
    }
    lines.push_back(text);
  }
  return lines;
}

const char* outcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::Success:
      return "success";
    case Outcome::Failed:
      return "failed";
    case Outcome::Unknown:
      break;
  }
  return "unknown";
}

Json instructionJson(std::size_t index, const Invocation& invocation) {
  Json data = Json::array();
  for (const auto& chunks : invocation.data) data.push_back(chunks);
  return Json{
      {"index", index},
      {"program", invocation.program},
      {"depth", invocation.depth},
      {"parent", invocation.parent ? Json(*invocation.parent) : Json(nullptr)},
      {"name", invocation.instruction.empty() ? Json(nullptr) : Json(invocation.instruction)},
      {"name_source", invocation.instruction.empty() ? Json(nullptr) : Json("log")},
      {"data", std::move(data)},
      {"compute_units", invocation.compute_units ? Json(*invocation.compute_units) : Json(nullptr)},
      {"status", outcomeName(invocation.outcome)},
      {"error", invocation.outcome == Outcome::Failed ? Json(invocation.failure) : Json(nullptr)},
      {"return_data", invocation.return_data ? Json(*invocation.return_data) : Json(nullptr)},
  };
}

Json eventsJson(const ParsedLogs& parsed, const EventBuilderConfig& config) {
  Json events = Json::array();
  if (config.events == nullptr) return events;
  for (auto& event : config.events->extract(parsed)) {
    events.push_back(
        {{"program", event.program}, {"name", event.name}, {"data", event.data}, {"instruction", event.invocation}});
  }
  return events;
}

Json baseEvent(std::string_view program, const std::string& signature, std::uint64_t slot, const Json& err,
               const Json& block_time, const std::vector<std::string>& lines, const ParsedLogs& parsed,
               const char* source) {
  return Json{{"type", "SolanaTransaction"},
              {"program", program},
              {"signature", signature},
              {"slot", slot},
              {"blockTime", block_time},
              {"err", err},
              {"logs", lines},
              {"logs_truncated", parsed.truncated},
              {"instructions", Json::array()},
              {"events", Json::array()},
              {"source", source}};
}

/// One instruction of the transaction message, top-level or inner, in execution order.
struct TxInstruction {
  std::string program;
  Json accounts;  // base58 keys
  std::string data;
  int depth = 1;
};

std::vector<std::string> accountKeys(const Json& message, const Json& meta, const EventBuilderConfig& config) {
  const auto& keys = field(message, "accountKeys", "result.transaction.message");
  if (!keys.is_array()) {
    fail("result.transaction.message.accountKeys: expected an array of strings, got " + std::string(keys.type_name()));
  }
  std::vector<std::string> out;
  auto append = [&](const Json& list, const std::string& path) {
    if (out.size() + list.size() > config.max_account_keys) {
      fail(path + ": more than " + std::to_string(config.max_account_keys) + " account keys in all (the limit)");
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
      const auto& key = list[i];
      if (!key.is_string() || !looksLikePubkey(key.get_ref<const std::string&>())) {
        fail(path + "[" + std::to_string(i) + "]: expected a base58 public key");
      }
      out.push_back(key.get<std::string>());
    }
  };
  append(keys, "result.transaction.message.accountKeys");
  // Version 0 transactions index past the static keys into the lookup-table addresses.
  if (auto loaded = meta.find("loadedAddresses"); loaded != meta.end() && loaded->is_object()) {
    for (const char* kind : {"writable", "readonly"}) {
      if (auto list = loaded->find(kind); list != loaded->end()) {
        if (!list->is_array()) fail(std::string("result.meta.loadedAddresses.") + kind + ": expected an array");
        append(*list, std::string("result.meta.loadedAddresses.") + kind);
      }
    }
  }
  return out;
}

TxInstruction txInstruction(const Json& value, const std::string& path, const std::vector<std::string>& keys,
                            const EventBuilderConfig& config) {
  if (!value.is_object()) fail(path + ": expected an object, got " + value.type_name());
  const auto index = unsignedAt(value, "programIdIndex", path);
  if (index >= keys.size()) {
    fail(path + ".programIdIndex: " + std::to_string(index) + " is past the " + std::to_string(keys.size()) +
         " account keys");
  }
  TxInstruction out;
  out.program = keys[index];
  const auto& data = field(value, "data", path);
  if (!data.is_string()) fail(path + ".data: expected a base58 string, got " + data.type_name());
  if (data.get_ref<const std::string&>().size() > config.max_instruction_data) {
    fail(path + ".data: " + std::to_string(data.get_ref<const std::string&>().size()) +
         " characters exceed the limit of " + std::to_string(config.max_instruction_data));
  }
  out.data = data.get<std::string>();
  out.accounts = Json::array();
  if (auto accounts = value.find("accounts"); accounts != value.end()) {
    if (!accounts->is_array()) fail(path + ".accounts: expected an array of indices");
    for (std::size_t i = 0; i < accounts->size(); ++i) {
      const auto& account = (*accounts)[i];
      if (!isNonNegativeInteger(account) || account.get<std::uint64_t>() >= keys.size()) {
        fail(path + ".accounts[" + std::to_string(i) + "]: expected an index below " + std::to_string(keys.size()));
      }
      out.accounts.push_back(keys[account.get<std::size_t>()]);
    }
  }
  if (auto height = value.find("stackHeight"); height != value.end() && isNonNegativeInteger(*height)) {
    out.depth = static_cast<int>(std::min<std::uint64_t>(height->get<std::uint64_t>(), 64));
  }
  return out;
}

std::vector<TxInstruction> txInstructions(const Json& message, const Json& meta, const std::vector<std::string>& keys,
                                          const EventBuilderConfig& config) {
  const auto& top = field(message, "instructions", "result.transaction.message");
  if (!top.is_array()) fail("result.transaction.message.instructions: expected an array");
  std::unordered_map<std::uint64_t, const Json*> inner_by_index;
  std::size_t total = top.size();
  if (auto inner = meta.find("innerInstructions"); inner != meta.end() && !inner->is_null()) {
    if (!inner->is_array()) fail("result.meta.innerInstructions: expected an array");
    for (std::size_t i = 0; i < inner->size(); ++i) {
      const auto path = "result.meta.innerInstructions[" + std::to_string(i) + "]";
      const auto& group = (*inner)[i];
      if (!group.is_object()) fail(path + ": expected an object");
      const auto index = unsignedAt(group, "index", path);
      const auto& list = field(group, "instructions", path);
      if (!list.is_array()) fail(path + ".instructions: expected an array");
      total += list.size();
      inner_by_index[index] = &list;
    }
  }
  if (total > config.max_instructions) {
    fail("result: " + std::to_string(total) + " instructions exceed the limit of " +
         std::to_string(config.max_instructions));
  }
  std::vector<TxInstruction> out;
  out.reserve(total);
  for (std::size_t i = 0; i < top.size(); ++i) {
    out.push_back(
        txInstruction(top[i], "result.transaction.message.instructions[" + std::to_string(i) + "]", keys, config));
    out.back().depth = 1;
    if (auto group = inner_by_index.find(i); group != inner_by_index.end()) {
      for (std::size_t j = 0; j < group->second->size(); ++j) {
        auto instruction = txInstruction(
            (*group->second)[j],
            "result.meta.innerInstructions[index " + std::to_string(i) + "].instructions[" + std::to_string(j) + "]",
            keys, config);
        if (instruction.depth < 2) instruction.depth = 2;
        out.push_back(std::move(instruction));
      }
    }
  }
  return out;
}

/// Adds the accounts and, for token programs, the decoded instruction to an instruction entry.
void attach(Json& entry, const TxInstruction& instruction) {
  entry["accounts"] = instruction.accounts;
  if (!isTokenProgram(instruction.program)) return;
  auto decoded = decodeTokenInstructionBase58(instruction.data);
  if (!decoded.instruction) {
    entry["token"] = {{"error", decoded.error}};
    return;
  }
  const auto& token = *decoded.instruction;
  Json details{{"index", token.index}, {"name", token.name.empty() ? Json(nullptr) : Json(token.name)}};
  // Amounts as strings, as Solana's jsonParsed does: u64 exceeds what JavaScript numbers hold.
  if (token.amount) details["amount"] = std::to_string(*token.amount);
  if (token.decimals) details["decimals"] = *token.decimals;
  entry["token"] = std::move(details);
  if (entry["name"].is_null() && !token.name.empty()) {
    entry["name"] = token.name;
    entry["name_source"] = "instruction_data";
  }
}

BuildResult fromLogsNotification(const Json& result, std::string_view program, const EventBuilderConfig& config) {
  if (!result.is_object()) fail(std::string("result: expected an object, got ") + result.type_name());
  const auto& context = objectAt(result, "context", "result");
  const auto slot = unsignedAt(context, "slot", "result.context");
  const auto& value = objectAt(result, "value", "result");
  const auto signature = signatureAt(field(value, "signature", "result.value"), "result.value.signature");
  const auto& err = errAt(value, "err", "result.value");
  const auto lines = logLines(field(value, "logs", "result.value"), "result.value.logs", config);

  const auto parsed =
      parseLogs(lines, LogLimits{.max_lines = config.max_log_lines, .max_line_length = config.max_log_line_length});
  auto event = baseEvent(program, signature, slot, err, nullptr, lines, parsed, "live");
  for (std::size_t i = 0; i < parsed.invocations.size(); ++i) {
    event["instructions"].push_back(instructionJson(i, parsed.invocations[i]));
  }
  event["events"] = eventsJson(parsed, config);
  return {std::move(event), {}};
}

BuildResult fromTransaction(const Json& result, std::string_view program, const EventBuilderConfig& config) {
  if (result.is_null()) fail("result: null (the node does not know this transaction, or not at this commitment)");
  if (!result.is_object()) fail(std::string("result: expected an object, got ") + result.type_name());
  const auto slot = unsignedAt(result, "slot", "result");
  Json block_time = nullptr;
  if (auto found = result.find("blockTime"); found != result.end()) {
    if (!found->is_null() && !found->is_number_integer()) fail("result.blockTime: expected an integer or null");
    block_time = *found;
  }
  const auto& meta = objectAt(result, "meta", "result");
  const auto& err = errAt(meta, "err", "result.meta");
  std::vector<std::string> lines;
  if (auto found = meta.find("logMessages"); found != meta.end()) {
    lines = logLines(*found, "result.meta.logMessages", config);
  }
  const auto& transaction = field(result, "transaction", "result");
  if (transaction.is_array()) {
    fail("result.transaction: binary-encoded; request getTransaction with encoding \"json\"");
  }
  if (!transaction.is_object())
    fail(std::string("result.transaction: expected an object, got ") + transaction.type_name());
  const auto& signatures = field(transaction, "signatures", "result.transaction");
  if (!signatures.is_array() || signatures.empty()) {
    fail("result.transaction.signatures: expected a non-empty array");
  }
  const auto signature = signatureAt(signatures[0], "result.transaction.signatures[0]");
  const auto& message = objectAt(transaction, "message", "result.transaction");
  const auto keys = accountKeys(message, meta, config);
  const auto instructions = txInstructions(message, meta, keys, config);

  const auto parsed =
      parseLogs(lines, LogLimits{.max_lines = config.max_log_lines, .max_line_length = config.max_log_line_length});
  auto event = baseEvent(program, signature, slot, err, block_time, lines, parsed, "backfill");
  auto& out = event["instructions"];
  // The logged invocations and the message's instructions run in the same
  // order; match them by program id, skipping what truncated logs lost.
  std::vector<bool> matched(instructions.size(), false);
  std::size_t next = 0;
  for (std::size_t i = 0; i < parsed.invocations.size(); ++i) {
    auto entry = instructionJson(i, parsed.invocations[i]);
    for (auto k = next; k < instructions.size(); ++k) {
      if (instructions[k].program == parsed.invocations[i].program) {
        attach(entry, instructions[k]);
        matched[k] = true;
        next = k + 1;
        break;
      }
    }
    out.push_back(std::move(entry));
  }
  // Token instructions the logs do not show (no logs kept, or truncated) are still reported.
  for (std::size_t k = 0; k < instructions.size(); ++k) {
    if (matched[k] || !isTokenProgram(instructions[k].program)) continue;
    Json entry{{"index", out.size()},
               {"program", instructions[k].program},
               {"depth", instructions[k].depth},
               {"parent", nullptr},
               {"name", nullptr},
               {"name_source", nullptr},
               {"data", Json::array()},
               {"compute_units", nullptr},
               {"status", "unknown"},
               {"error", nullptr},
               {"return_data", nullptr}};
    attach(entry, instructions[k]);
    out.push_back(std::move(entry));
  }
  event["events"] = eventsJson(parsed, config);
  return {std::move(event), {}};
}

template <typename Build>
BuildResult guarded(Build build) {
  try {
    return build();
  } catch (const ShapeError& error) {
    return {nullptr, error.message};
  } catch (const Json::exception& error) {
    // Not expected after the checks above; kept so no JSON access can escape the boundary.
    return {nullptr, std::string("malformed input: ") + error.what()};
  }
}

}  // namespace

BuildResult buildFromLogsNotification(const Json& result, std::string_view program, const EventBuilderConfig& config) {
  return guarded([&] { return fromLogsNotification(result, program, config); });
}

BuildResult buildFromTransaction(const Json& result, std::string_view program, const EventBuilderConfig& config) {
  return guarded([&] { return fromTransaction(result, program, config); });
}

}  // namespace eventnode::plugins::solana_listener
