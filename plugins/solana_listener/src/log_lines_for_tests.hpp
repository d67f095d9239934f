#pragma once
// Program ids and Solana log lines as the runtime prints them, for the unit
// tests of the log parser and of the event builder.
#include <string>

namespace eventnode::plugins::solana_listener::test_logs {

inline constexpr const char* kToken = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
inline constexpr const char* kAnchor = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P";
inline constexpr const char* kCompute = "ComputeBudget111111111111111111111111111111";

inline std::string invoke(const std::string& program, int depth) {
  return "Program " + program + " invoke [" + std::to_string(depth) + "]";
}
inline std::string success(const std::string& program) { return "Program " + program + " success"; }
inline std::string consumed(const std::string& program, int used, int limit) {
  return "Program " + program + " consumed " + std::to_string(used) + " of " + std::to_string(limit) + " compute units";
}

}  // namespace eventnode::plugins::solana_listener::test_logs
