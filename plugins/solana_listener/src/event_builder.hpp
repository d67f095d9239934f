#pragma once
// The SolanaTransaction event published on the bus, built from either source
// of a transaction: a live logsNotification or a backfilled getTransaction.
#include "anchor_events.hpp"
#include "log_parser.hpp"

#include <eventnode/plugin/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace eventnode::plugins::solana_listener {

/// What the builder accepts; input past a limit is refused with the limit named.
struct EventBuilderConfig {
  const AnchorEventRegistry* events = nullptr;  ///< not owned; may be null (no events resolved)
  std::size_t max_log_lines = 10'000;
  std::size_t max_log_line_length = 16 * 1024;
  std::size_t max_instructions = 1024;      ///< top-level plus inner instructions of one transaction
  std::size_t max_account_keys = 1024;      ///< static plus loaded addresses
  std::size_t max_instruction_data = 4096;  ///< characters of one instruction's base58 data
};

/// The event, or why there is none. Never both.
struct BuildResult {
  plugin::Json event;  ///< {"type":"SolanaTransaction",…} when ok()
  std::string error;   ///< names the offending field and what was wrong, or the limit exceeded
  bool ok() const { return error.empty(); }
};

/// From a logsNotification's `params.result` ({"context":{"slot"},"value":{"signature","err","logs"}}),
/// for the program whose subscription delivered it. Never throws except std::bad_alloc.
BuildResult buildFromLogsNotification(const plugin::Json& result, std::string_view program,
                                      const EventBuilderConfig& config);

/// From a getTransaction result (encoding "json"): slot, blockTime, meta.{err,logMessages,
/// innerInstructions,loadedAddresses}, transaction.{signatures,message.{accountKeys,instructions}}.
/// SPL Token instructions are decoded from their data, which names them when the logs do not
/// (p-token). A null result (unknown signature) is an error. Never throws except std::bad_alloc.
BuildResult buildFromTransaction(const plugin::Json& result, std::string_view program,
                                 const EventBuilderConfig& config);

}  // namespace eventnode::plugins::solana_listener
