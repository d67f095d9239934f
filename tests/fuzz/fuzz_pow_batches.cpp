// PoW batches as ML nodes send them (plugins/pow_batches/src/batch_message.hpp):
// a WebSocket message `{"type","batch","id"}` or an HTTP body holding one
// batch. The first byte picks which (0: WebSocket, 1: HTTP generated batch,
// 2: HTTP validated batch, others wrap around); the rest is the text.
//
// The parser has a one-pass reader and falls back to nlohmann plus
// validateBatch for anything it is unsure of. Whatever the one-pass reader
// accepts, the nlohmann path must accept too, with the same canonical text
// and content hash: otherwise one batch would be recorded twice, once per path.
#include "fuzz_support.hpp"

#include "batch_message.hpp"

#include <variant>

using eventnode::fuzz::require;
namespace batches = eventnode::plugins::pow_batches;

namespace {

// Small, so the fuzzer reaches the cap on array lengths.
constexpr std::size_t kMaxLength = 16;

void requireSameAsJsonPath(batches::BatchKind kind, const batches::Batch& fast,
                           const eventnode::plugin::Json& batch_json) {
  const auto reference = batches::validateBatch(kind, batch_json, kMaxLength);
  const auto* checked = std::get_if<batches::Batch>(&reference);
  require(checked != nullptr, "what the one-pass reader accepts, validateBatch accepts");
  require(checked->canonical == fast.canonical, "both paths print the same canonical text");
  require(checked->content_hash == fast.content_hash, "both paths give the same content hash");
  require(checked->node_num == fast.node_num && checked->kind == fast.kind, "both paths read the same node");
}

void fuzzMessage(std::string_view text) {
  (void)batches::parseBatchMessage(text, kMaxLength);
  const auto fast = batches::fastParseBatchMessage(text, kMaxLength);
  if (!fast) return;
  const auto read = eventnode::plugin::readJson(text);
  require(read.ok() && read.value.is_object() && read.value.contains("batch"), "an accepted message is JSON");
  require(read.value.value("id", std::string()) == fast->id, "both paths read the same id");
  requireSameAsJsonPath(fast->kind, fast->batch, read.value["batch"]);
}

void fuzzBody(batches::BatchKind kind, std::string_view text) {
  (void)batches::parseBatchBody(kind, text, kMaxLength);
  const auto fast = batches::fastParseBatchBody(kind, text, kMaxLength);
  if (!fast) return;
  const auto read = eventnode::plugin::readJson(text);
  require(read.ok(), "an accepted body is JSON");
  requireSameAsJsonPath(kind, *fast, read.value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto text = eventnode::fuzz::asText(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      fuzzMessage(text);
      break;
    case 1:
      fuzzBody(batches::BatchKind::Generated, text);
      break;
    default:
      fuzzBody(batches::BatchKind::Validated, text);
      break;
  }
  return 0;
}
