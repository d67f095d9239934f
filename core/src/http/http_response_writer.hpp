#pragma once
// Turns an answer into the bytes of an HTTP/1.1 response: status line with
// its reason phrase, Date, Content-Type, Content-Length, the handler's own
// headers, and Connection when the connection is not kept open.
#include <eventnode/plugin/http.hpp>

#include <string>

namespace eventnode::core {

/// `keep_alive`: the connection stays open (HTTP/1.0 clients are told so
/// explicitly); otherwise `Connection: close` is sent.
std::string serializeResponse(const plugin::HttpResponse& response, bool keep_alive, unsigned version);

/// The interim answer to `Expect: 100-continue`.
inline constexpr std::string_view kContinueResponse = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace eventnode::core
