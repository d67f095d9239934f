#pragma once
// UTF-8 validation for WebSocket text messages (RFC 6455 §8.1: invalid UTF-8 closes with 1007).
#include <string_view>

namespace eventnode::core {

/// True when `text` is well-formed UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool isValidUtf8(std::string_view text);

}  // namespace eventnode::core
