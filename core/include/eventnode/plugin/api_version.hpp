#pragma once
/// The plugin API version. A plugin built for major M works with a node whose
/// major is M and whose minor is at least the plugin's minor.
#include <cstdint>

namespace eventnode::plugin {

inline constexpr std::uint32_t kApiVersionMajor = 2;
inline constexpr std::uint32_t kApiVersionMinor = 0;

/// Returned by every plugin's exported version query; a plain struct so the
/// host can read it before trusting anything else in the library.
struct ApiVersion {
  std::uint32_t major;
  std::uint32_t minor;
};

}  // namespace eventnode::plugin
