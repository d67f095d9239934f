#pragma once
// The structure of a Solana transaction's log lines: which programs were
// invoked (with CPI nesting), what each logged, emitted and consumed, and how
// each ended. Pure and allocation-bounded; it never throws on content.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace eventnode::plugins::solana_listener {

/// How an invocation ended, as far as the logs tell.
enum class Outcome {
  Unknown,  ///< no `success`/`failed` line was seen (truncated or unbalanced logs)
  Success,
  Failed,
};

/// One `Program <id> invoke [depth]` and everything logged inside it
/// (but not inside its own CPIs, which are separate invocations).
struct Invocation {
  std::string program;
  int depth = 0;                      ///< as logged, 1 for a top-level instruction
  std::optional<std::size_t> parent;  ///< index of the invoking invocation, none at top level
  std::string instruction;            ///< Anchor-style name from `Program log: Instruction: <Name>`, or empty
  std::vector<std::string> logs;      ///< the text after `Program log: `
  /// One entry per `Program data:` line, each the line's base64 chunks in order.
  std::vector<std::vector<std::string>> data;
  std::optional<std::uint64_t> compute_units;        ///< N of `consumed N of M compute units`
  std::optional<std::uint64_t> compute_units_limit;  ///< M of the same line
  std::optional<std::string> return_data;            ///< base64 of `Program return: <id> <base64>`
  Outcome outcome = Outcome::Unknown;
  std::string failure;  ///< the reason after `failed: `, when outcome is Failed
};

/// Bounds on what parseLogs reads; lines beyond them are not parsed.
struct LogLimits {
  std::size_t max_lines = 10'000;
  std::size_t max_line_length = 16 * 1024;
  std::size_t max_depth = 64;  ///< an invoke deeper than this is treated as an unknown line
};

struct ParsedLogs {
  /// In invoke order (pre-order of the CPI tree), so parents precede children.
  std::vector<Invocation> invocations;
  bool truncated = false;                    ///< the runtime wrote `Log truncated`, or max_lines cut the input
  bool unbalanced = false;                   ///< invoke/success/failed lines did not nest as they should
  std::size_t unknown_lines = 0;             ///< lines of no known form (kept by the caller, ignored here)
  std::size_t oversized_lines = 0;           ///< lines longer than max_line_length, skipped
  std::size_t dropped_lines = 0;             ///< lines past max_lines, not read
  std::optional<std::string> first_failure;  ///< the first `failed: <reason>` anywhere
};

/// Parses log lines as given by logsNotification `value.logs` or getTransaction
/// `meta.logMessages`. Any thread; never throws except std::bad_alloc.
ParsedLogs parseLogs(const std::vector<std::string>& lines, const LogLimits& limits = {});

/// True when `text` has the shape of a base58 public key (32..44 base58 characters).
bool looksLikePubkey(std::string_view text);

}  // namespace eventnode::plugins::solana_listener
