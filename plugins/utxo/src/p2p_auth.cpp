#include "p2p_auth.hpp"

#include "signature.hpp"
#include "txid.hpp"

#include <openssl/rand.h>

#include <stdexcept>

namespace eventnode::plugins::utxo {
namespace {

constexpr std::string_view kContext = "eventnode-p2p-v1";
constexpr std::size_t kNonceBytes = 32;
// Masternodes keep their clocks within seconds of each other (NTP) for the
// lock timeout already; a minute is a generous bound for a fresh handshake.
constexpr std::int64_t kMaxClockSkewSeconds = 60;

std::string freshNonce() {
  std::string bytes(kNonceBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(bytes.size())) != 1) {
    throw std::runtime_error("OpenSSL has no randomness for a P2P handshake nonce");
  }
  return toHex(bytes);
}

}  // namespace

P2pAuthenticator::P2pAuthenticator(Network network, std::string self_id, NodeKey key,
                                   std::map<std::string, std::vector<std::uint8_t>> peer_keys)
    : network_(network), self_id_(std::move(self_id)), key_(std::move(key)), peer_keys_(std::move(peer_keys)) {}

std::string P2pAuthenticator::dialMessage(const std::string& dialer, const std::string& acceptor,
                                          std::int64_t timestamp, const std::string& nonce) const {
  return std::string(kContext) + " dial " + std::string(networkName(network_)) + " " + dialer + " " + acceptor + " " +
         std::to_string(timestamp) + " " + nonce;
}

std::string P2pAuthenticator::acceptMessage(const std::string& acceptor, const std::string& dialer,
                                            const std::string& dial_nonce, const std::string& nonce) const {
  return std::string(kContext) + " accept " + std::string(networkName(network_)) + " " + acceptor + " " + dialer + " " +
         dial_nonce + " " + nonce;
}

std::string P2pAuthenticator::signHex(const std::string& message) const {
  return toHex(key_.sign(message));
}

std::string P2pAuthenticator::checkSignature(const std::string& signer, const std::string& message,
                                             const P2pHandshake& handshake) const {
  const auto key = peer_keys_.find(signer);
  if (key == peer_keys_.end()) return "handshake node_id " + signer + " has no configured public key";
  if (handshake.nonce.size() != 2 * kNonceBytes || !fromHex(handshake.nonce)) {
    return "handshake nonce must be " + std::to_string(2 * kNonceBytes) +
           " hex characters (this masternode authenticates its peers)";
  }
  const auto signature = fromHex(handshake.signature);
  if (!signature || signature->size() != kSignatureSize) {
    return "handshake signature must be " + std::to_string(2 * kSignatureSize) + " hex characters";
  }
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(signature->data()),
                                            signature->size());
  if (!verifyEd25519(key->second, message, bytes)) {
    return "handshake signature does not verify under " + signer + "'s configured public key";
  }
  return {};
}

void P2pAuthenticator::signDial(P2pHandshake& dial, const std::string& acceptor_id) const {
  dial.nonce = freshNonce();
  dial.signature = signHex(dialMessage(self_id_, acceptor_id, dial.timestamp, dial.nonce));
}

std::string P2pAuthenticator::checkDial(const P2pHandshake& dial, std::int64_t now) {
  if (auto why = checkSignature(dial.node_id, dialMessage(dial.node_id, self_id_, dial.timestamp, dial.nonce), dial);
      !why.empty()) {
    return why;
  }
  const auto skew = now - dial.timestamp;
  if (skew > kMaxClockSkewSeconds || -skew > kMaxClockSkewSeconds) {
    return "handshake timestamp is " + std::to_string(skew < 0 ? -skew : skew) +
           " s from this masternode's clock (at most " + std::to_string(kMaxClockSkewSeconds) + " s)";
  }
  std::lock_guard lock(mutex_);
  // A nonce older than twice the skew cannot come back: its timestamp is refused above.
  std::erase_if(seen_nonces_, [now](const auto& entry) { return now - entry.second > 2 * kMaxClockSkewSeconds; });
  if (!seen_nonces_.emplace(dial.nonce, dial.timestamp).second) {
    return "handshake nonce was used before (a replayed handshake)";
  }
  return {};
}

void P2pAuthenticator::signAccept(P2pHandshake& answer, const P2pHandshake& dial) const {
  answer.nonce = freshNonce();
  answer.signature = signHex(acceptMessage(self_id_, dial.node_id, dial.nonce, answer.nonce));
}

std::string P2pAuthenticator::checkAccept(const P2pHandshake& answer, const P2pHandshake& dial) const {
  return checkSignature(answer.node_id, acceptMessage(answer.node_id, self_id_, dial.nonce, answer.nonce), answer);
}

}  // namespace eventnode::plugins::utxo
