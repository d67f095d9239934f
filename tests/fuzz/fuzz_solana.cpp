// What a Solana node sends the listener (plugins/solana_listener): the first
// byte even, the rest is a PubSub text (a logsNotification, whose
// params.result goes to buildFromLogsNotification as PubSubClient hands it
// over); odd, an RPC answer (one response or a batch of them, whose results
// go to buildFromTransaction as getTransaction results). Both read the text
// with plugin::readJson as the clients do; the log-line parser and the Anchor
// event registry run inside the builders.
//
// The builders never throw (but bad_alloc), and an event they build prints as
// strict JSON: it is published as text to clients.
#include "fuzz_support.hpp"

#include "anchor_events.hpp"
#include "event_builder.hpp"

#include <eventnode/plugin/json.hpp>

#include <exception>

using eventnode::fuzz::require;
using eventnode::plugin::Json;
namespace solana = eventnode::plugins::solana_listener;

namespace {

constexpr std::string_view kProgram = "Fuzz111111111111111111111111111111111111111";

const solana::EventBuilderConfig& builderConfig() {
  static const solana::AnchorEventRegistry registry = [] {
    solana::AnchorEventRegistry events;
    events.add(std::string(kProgram), "TokensMinted");
    events.add(std::string(kProgram), "BatchRecorded");
    return events;
  }();
  // Small limits, so the fuzzer reaches them.
  static const solana::EventBuilderConfig config{.events = &registry,
                                                 .max_log_lines = 64,
                                                 .max_log_line_length = 512,
                                                 .max_instructions = 32,
                                                 .max_account_keys = 32,
                                                 .max_instruction_data = 256};
  return config;
}

void check(const solana::BuildResult& built) {
  if (!built.ok()) return;
  require(built.event.is_object() && built.event.value("type", "") == "SolanaTransaction", "events are typed");
  try {
    (void)built.event.dump();
  } catch (const Json::exception& e) {
    std::fprintf(stderr, "dump failed: %s\n", e.what());
    require(false, "a built event prints as strict JSON");
  }
}

template <typename Build>
void build(Build&& run) {
  try {
    check(run());
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "builder threw: %s\n", e.what());
    require(false, "the builders never throw");
  }
}

void fuzzPubSub(std::string_view text) {
  const auto read = eventnode::plugin::readJson(text);
  if (!read.ok() || !read.value.is_object()) return;
  const auto params = read.value.find("params");
  if (params == read.value.end() || !params->is_object() || !params->contains("result")) return;
  build([&] { return solana::buildFromLogsNotification((*params)["result"], kProgram, builderConfig()); });
}

void fuzzRpc(std::string_view text) {
  const auto read = eventnode::plugin::readJson(text, {.max_depth = 64, .max_bytes = 32u << 20});
  if (!read.ok()) return;
  const auto answers = read.value.is_array() ? read.value : Json::array({read.value});
  for (const auto& answer : answers) {
    if (!answer.is_object() || !answer.contains("result")) continue;
    build([&] { return solana::buildFromTransaction(answer["result"], kProgram, builderConfig()); });
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto text = eventnode::fuzz::asText(data + 1, size - 1);
  if ((data[0] & 1) == 0) {
    fuzzPubSub(text);
  } else {
    fuzzRpc(text);
  }
  return 0;
}
