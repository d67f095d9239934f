#pragma once
// PoW batches as ML nodes send them: validation with a reason for every
// refusal, and the canonical content hash that makes recording exactly-once
// whichever path (WebSocket or HTTP) and however often a batch arrives.
#include <eventnode/plugin/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace eventnode::plugins::pow_batches {

enum class BatchKind { Generated, Validated };

/// "generated" or "validated".
const char* kindName(BatchKind kind);
/// The kind named by `name`, or nullopt.
std::optional<BatchKind> parseKind(std::string_view name);

struct Batch {
  BatchKind kind = BatchKind::Generated;
  std::uint64_t node_num = 0;  ///< the batch's node_id: the ML node's node_num in config
  /// Only the fields of the format, serialized once, canonically (sorted keys,
  /// no spaces); hashed, and reused as they are in the recorder message.
  std::string canonical;
  /// Hex SHA-256 of kind and canonical fields: equal batches have equal hashes.
  std::string content_hash;
};

struct BatchError {
  std::string message;  ///< names the field and what is wrong with it
};

/// The typed fields of a batch already checked: the ProofBatch fields, and for
/// a ValidatedBatch the rest too (ignored for a generated one).
struct BatchValues {
  std::string public_key;
  std::string block_hash;
  std::int64_t block_height = 0;
  std::vector<std::int64_t> nonces;
  std::vector<double> dist;
  std::int64_t node_id = 0;
  std::vector<double> received_dist;
  double r_target = 0;
  double fraud_threshold = 0;
  std::int64_t n_invalid = 0;
  double probability_honest = 0;
  bool fraud_detected = false;
};

/// The Batch of values that passed every check of validateBatch (finite
/// numbers, non-negative integers, equal lengths, strings without characters
/// JSON escapes): its canonical text is printed straight from the values, the
/// same text validateBatch gets by dumping its JSON.
Batch batchFromValues(BatchKind kind, const BatchValues& values);

/// Checks a ProofBatch (generated) or ValidatedBatch (validated). Arrays
/// longer than `max_length` entries are refused.
std::variant<Batch, BatchError> validateBatch(BatchKind kind, const plugin::Json& body, std::size_t max_length);

}  // namespace eventnode::plugins::pow_batches
