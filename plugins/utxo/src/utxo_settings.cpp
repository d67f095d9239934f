#include "utxo_settings.hpp"

#include "signature.hpp"
#include "txid.hpp"

#include <eventnode/plugin/config_error.hpp>

#include <chrono>
#include <set>

namespace eventnode::plugins::utxo {
namespace {

/// Splits "host:port"; throws ConfigError at `key`.
PeerAddress parseHostPort(const std::string& text, const std::string& key) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    throw plugin::ConfigError(key, key + " must be host:port, got '" + text + "'");
  }
  const auto port_text = text.substr(colon + 1);
  if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port_text) > 65535) {
    throw plugin::ConfigError(key, key + " has a bad port in '" + text + "'");
  }
  return {"", text.substr(0, colon), static_cast<std::uint16_t>(std::stoul(port_text))};
}

}  // namespace

plugin::ConfigBinding<UtxoSettings> settingsBinding() {
  plugin::ConfigBinding<MasternodeEntry> masternode;
  masternode.field("id", &MasternodeEntry::id, "the masternode's id").required();
  masternode.field("address", &MasternodeEntry::address, "its P2P host:port").required();
  masternode.field("public_key", &MasternodeEntry::public_key,
                   "its Ed25519 P2P key, 64 hex characters; set on every masternode or none: "
                   "with them, peers must prove who they are in the handshake");

  plugin::ConfigBinding<P2pSection> p2p;
  p2p.field("listen", &P2pSection::listen, "host:port to accept peers on");
  p2p.duration<std::chrono::seconds>(
         "ping_interval_seconds", [](P2pSection & s) -> auto& { return s.link.ping_interval; },
         "Ping on every link this often; three silent intervals drop it")
      .minimum(1);
  p2p.duration<std::chrono::milliseconds>(
         "reconnect_max_ms", [](P2pSection & s) -> auto& { return s.link.reconnect_max; },
         "longest wait between redials of a peer")
      .minimum(100);
  p2p.field("private_key_file", &P2pSection::private_key_file,
            "this masternode's Ed25519 P2P key (PEM, `openssl genpkey -algorithm ed25519`); "
            "needed when masternodes have public keys; relative to <data_dir>/utxo");

  // lock_timeout_seconds and verify_signatures are flat in the YAML: they reach into LedgerConfig.
  plugin::ConfigBinding<UtxoSettings> b;
  b.field("network", &UtxoSettings::network,
          "testnet (TIME0 addresses) or mainnet (TIME1 addresses); also picks the P2P magic bytes")
      .allowed({"testnet", "mainnet"});
  b.field("masternode_id", &UtxoSettings::masternode_id, "this node's id in masternodes; empty: node.id");
  b.list("masternodes", &UtxoSettings::masternodes,
         "every masternode of the network, this one included; n for the quorum. Empty: this node "
         "alone, a network of one that finalizes on its own vote",
         std::move(masternode));
  b.map("p2p", &UtxoSettings::p2p, "the masternode P2P listener and links", std::move(p2p));
  b.field(
       "lock_timeout_seconds", [](UtxoSettings & s) -> auto& { return s.ledger.lock_timeout_seconds; },
       "a transaction without quorum this long is rejected and its inputs unlocked")
      .minimum(1);
  b.field("wallet_access", &UtxoSettings::wallet_access, "who may open /ws/utxo-protocol")
      .allowed({"public", "authenticated"});
  b.field("max_addresses_per_connection", &UtxoSettings::max_addresses_per_connection,
          "addresses one wallet connection may watch")
      .minimum(1);
  b.field(
      "verify_signatures", [](UtxoSettings & s) -> auto& { return s.ledger.verify_signatures; },
      "every input must carry a valid Ed25519 signature by the key of the address it spends "
      "from (docs/utxo.md); off, anyone can spend any output: for test networks only");
  b.field("sync", &UtxoSettings::sync,
          "SQLite synchronous mode: normal survives a killed process, full also a power cut")
      .allowed({"normal", "full"});
  // Checking a transaction costs about inputs × (inputs + outputs) (transaction.hpp):
  // the caps bound one transaction, the budget a client's rate of them.
  b.field(
       "max_inputs_per_transaction", [](UtxoSettings & s) -> auto& { return s.limits.max_inputs; },
       "a transaction with more inputs is refused (400) before anything else is checked; give every "
       "masternode the same value")
      .minimum(1)
      .maximum(10000);
  b.field(
       "max_outputs_per_transaction", [](UtxoSettings & s) -> auto& { return s.limits.max_outputs; },
       "a transaction with more outputs is refused (400) before anything else is checked; give every "
       "masternode the same value")
      .minimum(1)
      .maximum(10000);
  b.field("signature_checks_per_second", &UtxoSettings::signature_checks_per_second,
          "POST /api/utxo/transactions budget per client IP (IPv6: per /64), in transaction inputs "
          "(one signature check each, as many as a request declares, at least 1, a refused one too): refilled at "
          "this rate; an exhausted client gets 429 with Retry-After. 0: unlimited")
      .minimum(0);
  b.field("signature_checks_burst", &UtxoSettings::signature_checks_burst,
          "what a client's budget holds when full: the inputs it may send at once")
      .minimum(1);
  return b;
}

UtxoConfig readConfig(const YAML::Node& yaml) {
  UtxoConfig config;
  config.settings = settingsBinding().read(yaml);
  const auto& settings = config.settings;
  std::set<std::string> ids;
  for (std::size_t i = 0; i < settings.masternodes.size(); ++i) {
    const auto& entry = settings.masternodes[i];
    const auto at = "masternodes[" + std::to_string(i) + "]";
    auto peer = parseHostPort(entry.address, at + ".address");
    peer.id = entry.id;
    if (peer.id.empty()) throw plugin::ConfigError(at + ".id", "a masternode id is empty");
    if (!ids.insert(peer.id).second) {
      throw plugin::ConfigError(at + ".id", "masternode id '" + peer.id + "' is listed twice");
    }
    if (!entry.public_key.empty()) {
      const auto key = fromHex(entry.public_key);
      if (!key || key->size() != kPublicKeySize) {
        throw plugin::ConfigError(at + ".public_key", "the public_key of " + peer.id + " must be 64 hex characters");
      }
      config.public_keys[peer.id] = std::vector<std::uint8_t>(key->begin(), key->end());
    }
    config.masternodes.push_back(std::move(peer));
  }
  if (!config.public_keys.empty() && config.public_keys.size() != config.masternodes.size()) {
    for (std::size_t i = 0; i < config.masternodes.size(); ++i) {
      if (!config.public_keys.contains(config.masternodes[i].id)) {
        throw plugin::ConfigError(
            "masternodes[" + std::to_string(i) + "]",
            config.masternodes[i].id + " has no public_key; once one masternode has a key, every one needs one");
      }
    }
  }
  if (!settings.masternode_id.empty() && !config.masternodes.empty() && !ids.contains(settings.masternode_id)) {
    throw plugin::ConfigError("masternode_id", "masternode_id '" + settings.masternode_id + "' is not in masternodes");
  }
  config.listen = parseHostPort(settings.p2p.listen, "p2p.listen");
  if (!config.public_keys.empty() && settings.p2p.private_key_file.empty()) {
    throw plugin::ConfigError("p2p.private_key_file",
                              "p2p.private_key_file is needed: the masternodes have public keys");
  }
  return config;
}

}  // namespace eventnode::plugins::utxo
