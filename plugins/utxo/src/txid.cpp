#include "txid.hpp"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

namespace eventnode::plugins::utxo {
namespace {

template <typename T>
void appendLittleEndian(std::string& out, T value) {
  auto bits = static_cast<std::make_unsigned_t<T>>(value);
  for (std::size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
}

}  // namespace

std::string txidData(const Transaction& tx) {
  std::string data;
  data.reserve(16 + tx.inputs.size() * 140 + tx.outputs.size() * 60);
  appendLittleEndian<std::uint32_t>(data, tx.version);
  appendLittleEndian<std::uint32_t>(data, static_cast<std::uint32_t>(tx.inputs.size()));
  for (const auto& input : tx.inputs) {
    data += input.previous_output.txid;
    appendLittleEndian<std::uint32_t>(data, input.previous_output.vout);
    data.append(input.public_key.begin(), input.public_key.end());
    appendLittleEndian<std::uint32_t>(data, input.sequence);
  }
  appendLittleEndian<std::uint32_t>(data, static_cast<std::uint32_t>(tx.outputs.size()));
  for (const auto& output : tx.outputs) {
    appendLittleEndian<std::uint64_t>(data, output.amount);
    data += output.address;
  }
  appendLittleEndian<std::uint32_t>(data, tx.lock_time);
  appendLittleEndian<std::int64_t>(data, tx.timestamp);
  return data;
}

std::string sha3_256(std::string_view data) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha3_256(), nullptr) != 1 ||
      EVP_DigestUpdate(context.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(context.get(), digest, &length) != 1) {
    throw std::runtime_error("OpenSSL SHA3-256 failed");
  }
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string toHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (const auto byte : bytes) {
    const auto value = static_cast<unsigned char>(byte);
    hex.push_back(kDigits[value >> 4]);
    hex.push_back(kDigits[value & 0x0F]);
  }
  return hex;
}

std::string toHex(std::span<const std::uint8_t> bytes) {
  return toHex(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

std::optional<std::string> fromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string bytes;
  bytes.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int high = digit(hex[i]);
    const int low = digit(hex[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    bytes.push_back(static_cast<char>(high * 16 + low));
  }
  return bytes;
}

std::string computeTxid(const Transaction& tx) { return toHex(sha3_256(sha3_256(txidData(tx)))); }

}  // namespace eventnode::plugins::utxo
