#include "meter_settings.hpp"

#include "solana_keys.hpp"

#include <eventnode/plugin/config_error.hpp>

namespace eventnode::plugins::meter {

using std::chrono::milliseconds;
using std::chrono::seconds;

plugin::ConfigBinding<MeterSettings> settingsBinding() {
  plugin::ConfigBinding<MintSettings> mint;
  mint.field("enabled", &MintSettings::enabled, "mint validated readings as SPL tokens (off: readings stay pending)");
  mint.field("rpc_url", &MintSettings::rpc_url, "Solana JSON-RPC URL, e.g. http://127.0.0.1:8899");
  mint.field("mint", &MintSettings::mint, "base58 address of the energy token's mint");
  mint.field("decimals", &MintSettings::decimals, "the mint's decimals; 1 kWh = 10^9 base units needs 9")
      .minimum(9)
      .maximum(9);
  mint.field("authority_keypair_file", &MintSettings::authority_keypair_file,
             "Solana CLI keypair file of the mint authority, which also pays the fees");
  mint.duration<milliseconds>("interval_ms", &MintSettings::interval, "a batch at least this often while readings wait")
      .minimum(100);
  mint.field("batch_size", &MintSettings::batch_size, "a batch as soon as this many readings wait; its largest size")
      .minimum(1)
      .maximum(100000);
  mint.field("max_attempts", &MintSettings::max_attempts, "batches a reading's mint may fail in before it is abandoned")
      .minimum(1);
  mint.duration<milliseconds>("rpc_timeout_ms", &MintSettings::rpc_timeout, "timeout of one RPC call").minimum(100);
  mint.duration<milliseconds>("poll_interval_ms", &MintSettings::poll_interval,
                              "how often unconfirmed transactions are looked at")
      .minimum(50);
  mint.duration<milliseconds>("listener_grace_ms", &MintSettings::listener_grace,
                              "how long a solana:watch answer is awaited before getSignatureStatuses is asked")
      .minimum(0);
  mint.field("commitment", &MintSettings::commitment, "when a mint counts as done")
      .allowed({"processed", "confirmed", "finalized"});

  plugin::ConfigBinding<MeterSettings> b;
  b.field("max_kwh", &MeterSettings::max_kwh, "largest kWh amount of one reading").minimum(0.000000001);
  b.duration<seconds>("max_age_seconds", &MeterSettings::max_age, "readings older than this are refused").minimum(1);
  b.duration<seconds>("max_clock_skew_seconds", &MeterSettings::max_clock_skew,
                      "how far in the future a reading's time may be (meter clocks drift)")
      .minimum(0);
  b.map("mint", &MeterSettings::mint, "batch minting of energy tokens through Solana JSON-RPC", std::move(mint));
  return b;
}

MeterSettings readSettings(const YAML::Node& config) {
  auto settings = settingsBinding().read(config);
  const auto& mint = settings.mint;
  if (!mint.enabled) return settings;
  if (mint.rpc_url.rfind("http://", 0) != 0 && mint.rpc_url.rfind("https://", 0) != 0) {
    throw plugin::ConfigError("mint.rpc_url", "minting is enabled: set the Solana JSON-RPC URL (http:// or https://)");
  }
  if (!parsePublicKey(mint.mint))
    throw plugin::ConfigError("mint.mint", "must be the mint's base58 address (32 bytes)");
  if (mint.authority_keypair_file.empty()) {
    throw plugin::ConfigError("mint.authority_keypair_file",
                              "minting is enabled: name the mint authority's keypair file");
  }
  plugin::atKey("mint.authority_keypair_file", [&] { (void)loadKeypairFile(mint.authority_keypair_file); });
  return settings;
}

}  // namespace eventnode::plugins::meter
