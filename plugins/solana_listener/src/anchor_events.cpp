#include "anchor_events.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace eventnode::plugins::solana_listener {
namespace {

Discriminator sha256Prefix(std::string_view prefix, std::string_view name) {
  std::string input;
  input.reserve(prefix.size() + name.size());
  input.append(prefix).append(name);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &size, EVP_sha256(), nullptr) != 1 || size < 8) {
    throw std::runtime_error("OpenSSL EVP_Digest(sha256) failed");
  }
  Discriminator out{};
  std::copy_n(digest, out.size(), out.begin());
  return out;
}

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

Discriminator eventDiscriminator(std::string_view name) {
  return sha256Prefix("event:", name);
}

Discriminator instructionDiscriminator(std::string_view snake_name) {
  return sha256Prefix("global:", snake_name);
}

std::string toSnakeCase(std::string_view name) {
  // Same rule as the heck crate Anchor uses for the common cases: a word starts
  // at an upper-case letter that follows a lower-case letter or digit, or that
  // precedes a lower-case letter after an upper-case run ("HTTPServer" → "http_server").
  std::string out;
  out.reserve(name.size() + 4);
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (std::isupper(c)) {
      const bool after_lower = i > 0 && (std::islower(static_cast<unsigned char>(name[i - 1])) ||
                                         std::isdigit(static_cast<unsigned char>(name[i - 1])));
      const bool run_end = i > 0 && std::isupper(static_cast<unsigned char>(name[i - 1])) && i + 1 < name.size() &&
                           std::islower(static_cast<unsigned char>(name[i + 1]));
      if ((after_lower || run_end) && !out.empty() && out.back() != '_') out += '_';
      out += static_cast<char>(std::tolower(c));
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::optional<std::vector<std::uint8_t>> base64Decode(std::string_view text, std::size_t max_bytes) {
  std::size_t padding = 0;
  while (!text.empty() && text.back() == '=' && padding < 2) {
    text.remove_suffix(1);
    ++padding;
  }
  if (text.size() % 4 == 1) return std::nullopt;
  if (padding > 0 && (text.size() + padding) % 4 != 0) return std::nullopt;
  if (text.size() / 4 * 3 > max_bytes + 3) return std::nullopt;
  std::vector<std::uint8_t> out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    const int value = base64Value(c);
    if (value < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((buffer >> bits) & 0xff));
    }
  }
  // Leftover bits must be zero, or the text is not a canonical encoding.
  if (bits > 0 && (buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  if (out.size() > max_bytes) return std::nullopt;
  return out;
}

std::string base64Encode(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const std::uint32_t v = bytes[i] << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const std::uint32_t v = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

void AnchorEventRegistry::add(const std::string& program, const std::string& name) {
  if (name.empty()) throw std::invalid_argument("anchor event name for program " + program + " is empty");
  const auto discriminator = eventDiscriminator(name);
  auto& entries = by_program_[program];
  for (const auto& entry : entries) {
    if (entry.name == name) return;
    if (entry.discriminator == discriminator) {
      throw std::invalid_argument("anchor events " + entry.name + " and " + name + " of program " + program +
                                  " share a discriminator; configure only one");
    }
  }
  entries.push_back({discriminator, name});
}

std::optional<std::string> AnchorEventRegistry::resolve(std::string_view program,
                                                        std::span<const std::uint8_t> data) const {
  if (data.size() < 8) return std::nullopt;
  auto found = by_program_.find(std::string(program));
  if (found == by_program_.end()) return std::nullopt;
  for (const auto& entry : found->second) {
    if (std::equal(entry.discriminator.begin(), entry.discriminator.end(), data.begin())) return entry.name;
  }
  return std::nullopt;
}

std::optional<std::string> AnchorEventRegistry::resolveBase64(std::string_view program, std::string_view chunk) const {
  // The whole chunk is decoded, not just its discriminator: invalid base64 is no event.
  auto bytes = base64Decode(chunk);
  if (!bytes) return std::nullopt;
  return resolve(program, *bytes);
}

std::vector<AnchorEvent> AnchorEventRegistry::extract(const ParsedLogs& logs) const {
  std::vector<AnchorEvent> events;
  if (by_program_.empty()) return events;
  for (std::size_t i = 0; i < logs.invocations.size(); ++i) {
    const auto& invocation = logs.invocations[i];
    if (!by_program_.contains(invocation.program)) continue;
    for (const auto& line : invocation.data) {
      if (line.empty()) continue;
      if (auto name = resolveBase64(invocation.program, line.front())) {
        events.push_back({i, invocation.program, std::move(*name), line.front()});
      }
    }
  }
  return events;
}

}  // namespace eventnode::plugins::solana_listener
