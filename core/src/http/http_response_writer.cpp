#include "http/http_response_writer.hpp"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/String.h>
#include <Poco/Timestamp.h>

#include <chrono>

namespace eventnode::core {
namespace {

/// The Date header changes once a second; formatting it for every response would not.
const std::string& httpDate() {
  thread_local std::string cached;
  thread_local std::chrono::system_clock::time_point::rep cached_second = -1;
  const auto second =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (second != cached_second) {
    cached = Poco::DateTimeFormatter::format(Poco::Timestamp(), Poco::DateTimeFormat::HTTP_FORMAT);
    cached_second = second;
  }
  return cached;
}

}  // namespace

std::string serializeResponse(const plugin::HttpResponse& response, bool keep_alive, unsigned version) {
  std::string out;
  out.reserve(192 + response.body.size());
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(response.status);
  out += ' ';
  out += Poco::Net::HTTPResponse::getReasonForStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(response.status));
  out += "\r\nDate: ";
  out += httpDate();
  if (!response.content_type.empty()) {
    out += "\r\nContent-Type: ";
    out += response.content_type;
  }
  bool connection_set = false;
  for (const auto& [name, value] : response.headers) {
    out += "\r\n";
    out += name;
    out += ": ";
    out += value;
    connection_set = connection_set || Poco::icompare(name, "Connection") == 0;
  }
  if (response.status != 101) {  // RFC 9110 §8.6: no Content-Length on a 1xx
    out += "\r\nContent-Length: ";
    out += std::to_string(response.body.size());
  }
  if (!connection_set) {
    if (!keep_alive)
      out += "\r\nConnection: close";
    else if (version == 10)
      out += "\r\nConnection: Keep-Alive";
  }
  out += "\r\n\r\n";
  out += response.body;
  return out;
}

}  // namespace eventnode::core
