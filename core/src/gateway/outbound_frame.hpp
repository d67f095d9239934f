#pragma once
// A WebSocket frame serialized once and shared, immutable, by every
// connection it is queued to.
#include <eventnode/plugin/json.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace eventnode::core {

struct OutboundFrame {
  std::string bytes;  ///< header and payload, ready for the socket
  /// When the event was published, for the publish→write latency histogram; epoch when not measured.
  std::chrono::steady_clock::time_point published{};
  /// Where an event's data JSON sits inside `bytes`; both 0 for frames that are not events.
  std::size_t data_at = 0;
  std::size_t data_size = 0;

  /// The event's data parsed back from `bytes`, for subscription filters. A
  /// copy of the publisher's JSON kept beside every frame would cost a deep
  /// copy per publish and several times the frame's memory in history, for
  /// the few topics that have filtered subscribers; this is parsed once, on
  /// first use, and shared by every I/O thread.
  const plugin::Json& data() const {
    std::call_once(parsed_, [this] {
      parsed_data_ = plugin::Json::parse(std::string_view(bytes).substr(data_at, data_size), nullptr, false);
    });
    return parsed_data_;
  }

 private:
  mutable std::once_flag parsed_;
  mutable plugin::Json parsed_data_;
};

using FramePtr = std::shared_ptr<const OutboundFrame>;

}  // namespace eventnode::core
