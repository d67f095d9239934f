#pragma once
// The utxo plugin's config, declared once: each YAML key bound to the member
// it fills (ConfigBinding), and the checks the schema cannot express.
#include "ledger.hpp"
#include "p2p_network.hpp"

#include <eventnode/plugin/config_binding.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace eventnode::plugins::utxo {

/// One entry of `masternodes`, as written; readConfig() checks it.
struct MasternodeEntry {
  std::string id;
  std::string address;     ///< host:port
  std::string public_key;  ///< 64 hex characters, or empty
};

/// The `p2p` section, as written.
struct P2pSection {
  std::string listen = "0.0.0.0:24100";
  /// Only ping_interval and reconnect_max come from the YAML; start() fills in the rest.
  P2pConfig link;
  std::string private_key_file;  ///< relative to <data_dir>/utxo; empty: none
};

/// The config as written; the defaults are the config's defaults.
struct UtxoSettings {
  std::string network = "testnet";
  std::string masternode_id;  ///< empty: node.id
  std::vector<MasternodeEntry> masternodes;
  P2pSection p2p;
  /// Only lock_timeout_seconds and verify_signatures come from the YAML.
  LedgerConfig ledger;
  std::string wallet_access = "public";
  std::size_t max_addresses_per_connection = 1000;
  std::string sync = "normal";
  /// max_inputs_per_transaction, max_outputs_per_transaction.
  TransactionLimits limits;
  /// The budget of POST /api/utxo/transactions per client IP (IPv6: per /64),
  /// in signature checks (transaction inputs): refilled at this rate, up to
  /// the burst. 0: unlimited.
  double signature_checks_per_second = 500;
  double signature_checks_burst = 1000;
};

/// The config once checked: the settings and what was parsed out of them.
struct UtxoConfig {
  UtxoSettings settings;
  std::vector<PeerAddress> masternodes;                          ///< in config order
  PeerAddress listen;                                            ///< p2p.listen
  std::map<std::string, std::vector<std::uint8_t>> public_keys;  ///< by masternode id; empty: no P2P authentication

  bool mainnet() const { return settings.network == "mainnet"; }
  bool walletAuthenticated() const { return settings.wallet_access == "authenticated"; }
  bool fullSync() const { return settings.sync == "full"; }
};

/// The keys of `plugins[].config`, for Plugin::configSchema() and readConfig().
plugin::ConfigBinding<UtxoSettings> settingsBinding();

/// Reads YAML the host validated against settingsBinding().schema(). Throws
/// plugin::ConfigError naming the key (e.g. "masternodes[1].public_key") for a
/// bad host:port, an empty or repeated masternode id, a malformed public key,
/// keys on some masternodes only, a masternode_id not listed, or keys without
/// p2p.private_key_file.
UtxoConfig readConfig(const YAML::Node& yaml);

}  // namespace eventnode::plugins::utxo
