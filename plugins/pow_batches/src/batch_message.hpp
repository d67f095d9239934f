#pragma once
// Reading batches straight from the text ML nodes send: a one-pass reader
// takes the number arrays into vectors and prints the canonical text from
// them, without building a JSON tree first. Whatever it is not sure of
// (malformed or unusual input: escapes, duplicate keys, null, numbers out of
// range, arrays over the cap...) goes to the nlohmann path (validateBatch),
// so every refusal keeps its reason and every accepted batch has the same
// fields, canonical text and content hash either way.
#include "batch.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace eventnode::plugins::pow_batches {

/// A `{"type","batch","id"}` message from an ML node's WebSocket.
struct BatchMessage {
  BatchKind kind = BatchKind::Generated;
  std::string id;  ///< echoed in the ack
  Batch batch;
};

/// Why a message or body was refused. `bad_json` when it is not JSON at all
/// (HTTP answers bad_json), otherwise a field is wrong (invalid_batch).
struct ParseError {
  std::string message;
  bool bad_json = false;
};

/// Reads and validates a WebSocket message. Refusals name the field, e.g.
/// "not a JSON object", "'id' must be a non-empty string", "batch.dist has 2
/// entries but nonces has 3; they must match". Any thread.
std::variant<BatchMessage, ParseError> parseBatchMessage(std::string_view text, std::size_t max_length);

/// Reads and validates an HTTP body holding one batch of `kind`. Any thread.
std::variant<Batch, ParseError> parseBatchBody(BatchKind kind, std::string_view text, std::size_t max_length);

/// The one-pass reader alone: the message when it is certain of it, nullopt
/// when the input needs the full JSON path (which then accepts or refuses it).
/// Exposed for tests, which check that ordinary traffic takes this path.
std::optional<BatchMessage> fastParseBatchMessage(std::string_view text, std::size_t max_length);
std::optional<Batch> fastParseBatchBody(BatchKind kind, std::string_view text, std::size_t max_length);

}  // namespace eventnode::plugins::pow_batches
