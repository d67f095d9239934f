#pragma once
/// The masternode P2P wire format (plugins/utxo/README.md, "Masternode P2P"):
/// 4 magic bytes per network, then frames of a u32 big-endian length and a
/// JSON body. Pure functions and one incremental decoder: no sockets here, so
/// every byte-level case is unit-tested without a network.
#include "p2p_network.hpp"

#include <eventnode/plugin/json.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace eventnode::plugins::utxo {

using P2pMagic = std::array<std::uint8_t, 4>;

inline constexpr std::size_t kP2pDefaultMaxFrameBytes = 10u * 1024 * 1024;
inline constexpr std::int64_t kP2pProtocolVersion = 1;

/// The 4 bytes that open every connection: 7E 57 7E 4D (testnet), C0 1D 7E 4D (mainnet).
P2pMagic p2pMagic(Network network);
/// "testnet" or "mainnet", as carried in the handshake.
std::string_view networkName(Network network);
/// The inverse of networkName; nullopt for anything else.
std::optional<Network> parseNetworkName(std::string_view name);

/// The variants a message body may carry, the handshake excluded.
enum class P2pMessageKind {
  Ping,
  Pong,
  TransactionBroadcast,
  InstantFinalityVote,
  UTXOStateQuery,
  UTXOStateResponse,
  UTXOStateNotification,
  UTXOSubscribe,
  UTXOUnsubscribe,
};

/// The wire name of a kind ("Ping", "TransactionBroadcast", …).
std::string_view p2pMessageKindName(P2pMessageKind kind);

/// Checks a body's shape: the string "Ping"/"Pong", or an object with exactly
/// one key naming a variant whose value is an object (its content is the
/// caller's to check). Returns nullopt and sets `error` naming what was wrong.
std::optional<P2pMessageKind> checkP2pMessage(const plugin::Json& body, std::string& error);

/// What a handshake carries, both directions, first thing on a connection.
struct P2pHandshake {
  std::string node_id;
  Network network = Network::Testnet;
  std::int64_t protocol_version = kP2pProtocolVersion;
  std::string listen_addr;     ///< host:port the sender accepts connections on
  std::int64_t timestamp = 0;  ///< Unix seconds when it was sent
  /// Only between authenticated masternodes (p2p_auth.hpp), empty otherwise:
  /// 64 hex characters of random bytes, and the sender's Ed25519 signature in hex.
  std::string nonce;
  std::string signature;
};

/// {"node_id","network","protocol_version":1,"listen_addr","timestamp"}, with
/// "nonce" and "signature" when they are set.
plugin::Json buildP2pHandshake(const P2pHandshake& handshake);
/// Parses and checks a handshake body: every field present with its type, a
/// known network, protocol_version 1, a non-empty node_id, nonce and
/// signature strings when present; other keys are ignored. Whether the node
/// is welcome is the caller's decision. Returns nullopt and sets `error`
/// naming the field that was wrong.
std::optional<P2pHandshake> parseP2pHandshake(const plugin::Json& body, std::string& error);

/// The 4 magic bytes as a string, ready to send.
std::string encodeP2pMagic(Network network);
/// One frame: u32 big-endian length + compact JSON text. Throws
/// std::length_error when the text exceeds `max_frame_bytes`, since the
/// receiver would refuse it and close the connection.
std::string encodeP2pFrame(const plugin::Json& body, std::size_t max_frame_bytes = kP2pDefaultMaxFrameBytes);

/// Turns a byte stream into whole frames, whatever the stream's chunking.
/// Optionally checks the 4 magic bytes first. After the first error the
/// decoder stays failed: the stream is out of sync and the connection must
/// close. Not thread-safe; one per connection.
class P2pFrameDecoder {
 public:
  enum class Status { Frame, NeedMore, Error };

  /// `expected_magic`: when set, the stream must begin with these 4 bytes.
  explicit P2pFrameDecoder(std::size_t max_frame_bytes = kP2pDefaultMaxFrameBytes,
                           std::optional<P2pMagic> expected_magic = std::nullopt);

  /// Appends bytes received from the peer.
  void feed(const char* data, std::size_t size);
  void feed(std::string_view bytes) { feed(bytes.data(), bytes.size()); }

  /// Takes the next whole frame into `body` (a JSON object, or the string
  /// "Ping"/"Pong"). NeedMore when the buffer holds no whole frame; Error when
  /// the stream is bad, with error() saying why.
  Status next(plugin::Json& body);

  /// Why the stream was refused; empty until then.
  const std::string& error() const { return error_; }
  /// Bytes fed but not yet consumed as frames.
  std::size_t buffered() const { return buffer_.size() - pos_; }

 private:
  Status fail(std::string message);

  std::size_t max_frame_bytes_;
  std::optional<P2pMagic> expected_magic_;
  std::string buffer_;
  std::size_t pos_ = 0;
  std::string error_;
};

}  // namespace eventnode::plugins::utxo
