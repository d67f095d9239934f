#pragma once
// The meter plugin's config: the reading checks, and minting (off unless configured).
#include "reading.hpp"

#include <eventnode/plugin/config_binding.hpp>

#include <chrono>
#include <string>

namespace eventnode::plugins::meter {

struct MintSettings {
  bool enabled = false;
  std::string rpc_url;                 ///< Solana JSON-RPC, e.g. http://127.0.0.1:8899
  std::string mint;                    ///< base58 address of the energy token's mint
  std::int64_t decimals = 9;           ///< the mint's decimals (MintToChecked checks them)
  std::string authority_keypair_file;  ///< Solana CLI keypair of the mint authority; it also pays the fees
  std::chrono::milliseconds interval{10'000};
  std::int64_t batch_size = 100;
  std::int64_t max_attempts = 5;
  std::chrono::milliseconds rpc_timeout{5'000};
  std::chrono::milliseconds poll_interval{500};
  std::chrono::milliseconds listener_grace{2'000};
  std::string commitment = "confirmed";
};

struct MeterSettings {
  double max_kwh = 100;
  std::chrono::seconds max_age{7 * 24 * 3600};
  std::chrono::seconds max_clock_skew{60};
  MintSettings mint;

  ReadingLimits limits() const {
    return {max_kwh, std::chrono::duration_cast<std::chrono::milliseconds>(max_age).count(),
            std::chrono::duration_cast<std::chrono::milliseconds>(max_clock_skew).count()};
  }
};

plugin::ConfigBinding<MeterSettings> settingsBinding();

/// The settings from validated YAML, with the checks a schema cannot make
/// (minting enabled needs its RPC URL, mint and keypair). Throws plugin::ConfigError.
MeterSettings readSettings(const YAML::Node& config);

}  // namespace eventnode::plugins::meter
