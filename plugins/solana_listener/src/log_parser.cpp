#include "log_parser.hpp"

#include <algorithm>
#include <charconv>

namespace eventnode::plugins::solana_listener {
namespace {

constexpr std::string_view kProgram = "Program ";
constexpr std::string_view kLog = "Program log: ";
constexpr std::string_view kData = "Program data: ";
constexpr std::string_view kReturn = "Program return: ";
constexpr std::string_view kInstruction = "Instruction: ";
constexpr std::string_view kTruncated = "Log truncated";

bool isBase58Char(char c) {
  return (c >= '1' && c <= '9') || (c >= 'A' && c <= 'H') || (c >= 'J' && c <= 'N') || (c >= 'P' && c <= 'Z') ||
         (c >= 'a' && c <= 'k') || (c >= 'm' && c <= 'z');
}

bool parseU64(std::string_view text, std::uint64_t& out) {
  if (text.empty()) return false;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

std::vector<std::string> splitSpaces(std::string_view text) {
  std::vector<std::string> parts;
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && text[pos] == ' ') ++pos;
    if (pos >= text.size()) break;
    auto end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    parts.emplace_back(text.substr(pos, end - pos));
    pos = end;
  }
  return parts;
}

class Parser {
 public:
  Parser(ParsedLogs& out, const LogLimits& limits) : out_(out), limits_(limits) {}

  void line(std::string_view text) {
    if (text == kTruncated) {
      out_.truncated = true;
      return;
    }
    if (text.starts_with(kLog)) return logLine(text.substr(kLog.size()));
    if (text.starts_with(kData)) return dataLine(text.substr(kData.size()));
    if (text.starts_with(kReturn)) return returnLine(text.substr(kReturn.size()));
    if (text.starts_with(kProgram)) return programLine(text.substr(kProgram.size()));
    ++out_.unknown_lines;
  }

  void finish() {
    if (!stack_.empty()) out_.unbalanced = true;
  }

 private:
  Invocation* top() { return stack_.empty() ? nullptr : &out_.invocations[stack_.back()]; }

  void logLine(std::string_view message) {
    auto* current = top();
    if (current == nullptr) {
      ++out_.unknown_lines;
      return;
    }
    if (current->instruction.empty() && message.starts_with(kInstruction)) {
      auto name = message.substr(kInstruction.size());
      // Only identifier-like names: "Instruction: " is also free text some programs print.
      if (!name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
            return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
          })) {
        current->instruction = std::string(name);
      }
    }
    current->logs.emplace_back(message);
  }

  void dataLine(std::string_view payload) {
    auto* current = top();
    if (current == nullptr) {
      ++out_.unknown_lines;
      return;
    }
    current->data.push_back(splitSpaces(payload));
  }

  void returnLine(std::string_view rest) {
    auto space = rest.find(' ');
    auto* current = top();
    if (space == std::string_view::npos || current == nullptr || !looksLikePubkey(rest.substr(0, space))) {
      ++out_.unknown_lines;
      return;
    }
    if (current->program != rest.substr(0, space)) out_.unbalanced = true;
    current->return_data = std::string(rest.substr(space + 1));
  }

  void programLine(std::string_view rest) {
    auto space = rest.find(' ');
    if (space == std::string_view::npos || !looksLikePubkey(rest.substr(0, space))) {
      ++out_.unknown_lines;
      return;
    }
    auto program = rest.substr(0, space);
    auto tail = rest.substr(space + 1);
    if (tail.starts_with("invoke [") && tail.ends_with("]")) {
      std::uint64_t depth = 0;
      if (!parseU64(tail.substr(8, tail.size() - 9), depth) || depth == 0 || depth > limits_.max_depth) {
        ++out_.unknown_lines;
        return;
      }
      return invoke(program, static_cast<int>(depth));
    }
    if (tail == "success") return end(program, Outcome::Success, {});
    if (tail.starts_with("failed: ")) return end(program, Outcome::Failed, tail.substr(8));
    if (tail == "failed") return end(program, Outcome::Failed, {});
    if (tail.starts_with("consumed ")) return consumed(program, tail.substr(9));
    ++out_.unknown_lines;
  }

  void invoke(std::string_view program, int depth) {
    const auto expected = stack_.size() + 1;
    if (static_cast<std::size_t>(depth) != expected) {
      out_.unbalanced = true;
      // A shallower invoke means the invocations above it ended without a line.
      while (!stack_.empty() && stack_.size() >= static_cast<std::size_t>(depth)) stack_.pop_back();
    }
    Invocation invocation;
    invocation.program = std::string(program);
    invocation.depth = depth;
    if (!stack_.empty()) invocation.parent = stack_.back();
    out_.invocations.push_back(std::move(invocation));
    stack_.push_back(out_.invocations.size() - 1);
  }

  /// The innermost open invocation of `program`, or npos.
  std::size_t findOpen(std::string_view program) const {
    for (auto i = stack_.size(); i-- > 0;) {
      if (out_.invocations[stack_[i]].program == program) return i;
    }
    return std::string_view::npos;
  }

  void end(std::string_view program, Outcome outcome, std::string_view reason) {
    if (outcome == Outcome::Failed && !out_.first_failure) out_.first_failure = std::string(reason);
    auto at = findOpen(program);
    if (at == std::string_view::npos) {
      out_.unbalanced = true;
      return;
    }
    if (at + 1 != stack_.size()) out_.unbalanced = true;
    auto& invocation = out_.invocations[stack_[at]];
    invocation.outcome = outcome;
    invocation.failure = std::string(reason);
    stack_.resize(at);
  }

  void consumed(std::string_view program, std::string_view rest) {
    // "N of M compute units"
    constexpr std::string_view kSuffix = " compute units";
    auto of = rest.find(" of ");
    std::uint64_t used = 0;
    std::uint64_t limit = 0;
    if (of == std::string_view::npos || !rest.ends_with(kSuffix) || !parseU64(rest.substr(0, of), used) ||
        of + 4 > rest.size() - kSuffix.size() ||
        !parseU64(rest.substr(of + 4, rest.size() - kSuffix.size() - of - 4), limit)) {
      ++out_.unknown_lines;
      return;
    }
    auto at = findOpen(program);
    if (at == std::string_view::npos) {
      out_.unbalanced = true;
      return;
    }
    auto& invocation = out_.invocations[stack_[at]];
    invocation.compute_units = used;
    invocation.compute_units_limit = limit;
  }

  ParsedLogs& out_;
  const LogLimits& limits_;
  std::vector<std::size_t> stack_;
};

}  // namespace

bool looksLikePubkey(std::string_view text) {
  return text.size() >= 32 && text.size() <= 44 && std::all_of(text.begin(), text.end(), isBase58Char);
}

ParsedLogs parseLogs(const std::vector<std::string>& lines, const LogLimits& limits) {
  ParsedLogs out;
  Parser parser(out, limits);
  std::size_t read = 0;
  for (const auto& text : lines) {
    if (read == limits.max_lines) {
      out.truncated = true;
      out.dropped_lines = lines.size() - read;
      break;
    }
    ++read;
    if (text.size() > limits.max_line_length) {
      ++out.oversized_lines;
      continue;
    }
    parser.line(text);
  }
  parser.finish();
  return out;
}

}  // namespace eventnode::plugins::solana_listener
