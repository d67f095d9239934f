// What a client sends on `/ws`: the JSON reader every outside text goes
// through (plugin::readJson, with its depth limit), the gateway's message
// parser (core/src/gateway/client_protocol.hpp) and the subscription filter
// it builds (subscription_filter.hpp), evaluated on an event.
//
// Input: the client's message, then optionally a NUL byte and an event's data
// (JSON) to run the message's filter on.
#include "fuzz_support.hpp"

#include "gateway/client_protocol.hpp"
#include "topics/topic_pattern.hpp"

#include <eventnode/plugin/json.hpp>

#include <utility>
#include <vector>

using eventnode::fuzz::require;
using eventnode::plugin::Json;

namespace {

constexpr std::size_t kSmallDepth = 8;

std::size_t depthOf(const Json& root) {
  // Iterative: the point is to check the bound, not to rely on it.
  std::size_t deepest = 0;
  std::vector<std::pair<const Json*, std::size_t>> pending{{&root, 0}};
  while (!pending.empty()) {
    const auto [value, depth] = pending.back();
    pending.pop_back();
    if (!value->is_structured()) continue;
    deepest = std::max(deepest, depth + 1);
    for (const auto& child : *value) pending.emplace_back(&child, depth + 1);
  }
  return deepest;
}

void checkReader(std::string_view text) {
  const auto read = eventnode::plugin::readJson(text, {.max_depth = kSmallDepth, .max_bytes = 1 << 20});
  if (!read.ok()) {
    require(read.value.is_null(), "a refused text gives a null value");
    return;
  }
  require(depthOf(read.value) <= kSmallDepth, "an accepted value is no deeper than the limit");
  // What the node prints of an accepted value reads back as the same value.
  const auto again = eventnode::plugin::readJson(read.value.dump(), {.max_depth = kSmallDepth});
  require(again.ok() && again.value == read.value, "dump() of an accepted value reads back equal");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto input = eventnode::fuzz::asText(data, size);
  const auto split = input.find('\0');
  const auto message = input.substr(0, split);
  checkReader(message);

  const auto parsed = eventnode::core::parseClientMessage(message);
  const auto* request = std::get_if<eventnode::core::ClientRequest>(&parsed);
  if (!request) {
    require(!std::get<eventnode::core::ProtocolError>(parsed).code.empty(), "a refusal has a code");
    return 0;
  }
  using Kind = eventnode::core::ClientRequest::Kind;
  if (request->kind != Kind::Ping) require(eventnode::core::isValidTopic(request->topic), "topics are valid");
  require(request->epoch.size() <= 64, "epochs are at most 64 bytes");
  if (!request->filter || split == std::string_view::npos) return 0;

  const auto event = eventnode::plugin::readJson(input.substr(split + 1));
  if (event.ok()) (void)request->filter->matches(event.value);
  return 0;
}
