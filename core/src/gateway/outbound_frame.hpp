#pragma once
// A WebSocket frame serialized once and shared, immutable, by every
// connection it is queued to.
#include <chrono>
#include <memory>
#include <string>

namespace eventnode::core {

struct OutboundFrame {
  std::string bytes;  ///< header and payload, ready for the socket
  /// When the event was published, for the publish→write latency histogram; epoch when not measured.
  std::chrono::steady_clock::time_point published{};
};

using FramePtr = std::shared_ptr<const OutboundFrame>;

}  // namespace eventnode::core
