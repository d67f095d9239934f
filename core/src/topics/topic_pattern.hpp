#pragma once
// Topic names and patterns, in one place for everything that checks or
// matches them: the bus, the topic rules, node.yaml's checks, the client
// protocol and the HTTP API.
#include <string_view>

namespace eventnode::core {

/// Topic names: 1..256 printable ASCII characters other than space, `*`, `,`, `"` and `\`.
bool isValidTopic(std::string_view topic);

/// The topic name rule, as error messages state it.
inline constexpr const char* kTopicNameRule = "1 to 256 printable characters without space, *, comma, quote or backslash";

/// Whether a pattern is well formed: a topic name with at most one `{sub}`
/// and `*` only at the end; `*` alone matches every topic.
bool isValidTopicPattern(std::string_view pattern);

/// Whether `topic` matches `pattern` (`*` suffix, one `{sub}`); `sub` receives what `{sub}` matched.
bool topicMatches(std::string_view pattern, std::string_view topic, std::string_view* sub = nullptr);

}  // namespace eventnode::core
