#pragma once
// The node's release version, set by CMake from project(VERSION).
#ifndef EVENTNODE_VERSION
#define EVENTNODE_VERSION "0.0.0-dev"
#endif

namespace eventnode::core {
inline constexpr const char* kVersion = EVENTNODE_VERSION;
}  // namespace eventnode::core
