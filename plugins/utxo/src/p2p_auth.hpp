#pragma once
/// Masternode authentication on P2P links. Without it a masternode knows a
/// peer only by the node_id its handshake claims, so anyone who reaches the
/// P2P port can speak (and vote) as any masternode. It is on when every
/// configured masternode has a public key; both handshakes then carry a fresh
/// random nonce and an Ed25519 signature, in hex, by the sender's key of:
///   dialer:   "eventnode-p2p-v1 dial <network> <dialer id> <acceptor id> <timestamp> <dialer nonce>"
///   acceptor: "eventnode-p2p-v1 accept <network> <acceptor id> <dialer id> <dialer nonce> <acceptor nonce>"
/// The acceptor refuses a dial whose signature does not verify under the
/// dialer's configured key, that names another acceptor, whose timestamp is
/// more than 60 s from its clock, or whose nonce it saw in the last 120 s (a
/// replayed handshake). The dialer refuses an answer that does not sign the
/// nonce it just sent. Messages after the handshake are not signed: against
/// someone who can alter the traffic between two masternodes, run P2P over a
/// VPN or a private network.
#include "node_key.hpp"
#include "p2p_codec.hpp"

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace eventnode::plugins::utxo {

class P2pAuthenticator {
 public:
  /// `peer_keys`: every other masternode's 32-byte public key, by id.
  P2pAuthenticator(Network network, std::string self_id, NodeKey key,
                   std::map<std::string, std::vector<std::uint8_t>> peer_keys);

  /// Sets the nonce and signature of the handshake this node dials
  /// `acceptor_id` with (its timestamp must be set).
  void signDial(P2pHandshake& dial, const std::string& acceptor_id) const;
  /// Empty when `dial`, from a configured peer, is authentic; otherwise why
  /// not. Remembers the nonce of an authentic one. Any thread.
  std::string checkDial(const P2pHandshake& dial, std::int64_t now);

  /// Sets the nonce and signature of this node's answer to `dial`.
  void signAccept(P2pHandshake& answer, const P2pHandshake& dial) const;
  /// Empty when `answer` is the authentic answer to `dial`; otherwise why not.
  std::string checkAccept(const P2pHandshake& answer, const P2pHandshake& dial) const;

 private:
  std::string dialMessage(const std::string& dialer, const std::string& acceptor, std::int64_t timestamp,
                          const std::string& nonce) const;
  std::string acceptMessage(const std::string& acceptor, const std::string& dialer, const std::string& dial_nonce,
                            const std::string& nonce) const;
  std::string signHex(const std::string& message) const;
  /// Empty when `handshake` carries a well-formed nonce and `signer`'s
  /// signature of `message`; otherwise why not.
  std::string checkSignature(const std::string& signer, const std::string& message,
                             const P2pHandshake& handshake) const;

  const Network network_;
  const std::string self_id_;
  const NodeKey key_;
  const std::map<std::string, std::vector<std::uint8_t>> peer_keys_;
  std::mutex mutex_;
  std::map<std::string, std::int64_t> seen_nonces_;  ///< accepted dial nonces and their timestamps
};

}  // namespace eventnode::plugins::utxo
