#include "http/http_request_reader.hpp"

#include <Poco/Exception.h>
#include <Poco/String.h>
#include <Poco/URI.h>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

namespace eventnode::core {
namespace http = boost::beast::http;

struct HttpRequestReader::Parser {
  http::request_parser<http::string_body> beast;
};

HttpRequestReader::HttpRequestReader(std::size_t max_body_bytes)
    : parser_(std::make_unique<Parser>()), max_body_bytes_(max_body_bytes) {
  parser_->beast.header_limit(static_cast<std::uint32_t>(kMaxHeaderBytes));
  parser_->beast.body_limit(max_body_bytes);
  // Header and body in one pass over whatever has arrived.
  parser_->beast.eager(true);
}

HttpRequestReader::~HttpRequestReader() = default;

bool HttpRequestReader::headerDone() const {
  return parser_->beast.is_header_done();
}

bool HttpRequestReader::expectsContinue() const {
  if (!headerDone()) return false;
  const auto& header = parser_->beast.get();
  const auto it = header.find(http::field::expect);
  return it != header.end() && boost::beast::iequals(it->value(), "100-continue");
}

std::size_t HttpRequestReader::bodyBytes() const {
  if (state_ == State::Complete) return request_.body.size();
  if (state_ == State::Refused || !headerDone()) return 0;
  if (const auto declared = parser_->beast.content_length()) return static_cast<std::size_t>(*declared);
  return parser_->beast.get().body().size();
}

std::size_t HttpRequestReader::feed(std::string_view data) {
  if (state_ != State::NeedMore || data.empty()) return 0;
  started_ = true;
  auto& beast = parser_->beast;
  const bool header_was_done = beast.is_header_done();
  boost::beast::error_code error;
  std::size_t consumed = 0;
  while (consumed < data.size() && !beast.is_done()) {
    const auto used = beast.put(boost::asio::buffer(data.data() + consumed, data.size() - consumed), error);
    consumed += used;
    if (error == http::error::need_more) {
      error = {};
      break;
    }
    if (error) break;
    if (!header_was_done && beast.is_header_done()) {
      // Checked once, the moment the header is whole, before any body byte is kept.
      const auto& header = beast.get();
      if (header.count(http::field::content_length) > 1) {
        refuse(400, "bad_request", "more than one Content-Length header");
        return consumed;
      }
      const auto encoding = header.find(http::field::transfer_encoding);
      if (encoding != header.end() && !beast.chunked()) {
        refuse(501, "not_implemented",
               "Transfer-Encoding '" + std::string(encoding->value().substr(0, 64)) +
                   "' is not supported; send chunked or a Content-Length");
        return consumed;
      }
    }
    if (used == 0) break;
  }
  if (error) {
    if (error == http::error::header_limit) {
      refuse(431, "header_too_large", "request line and headers exceed " + std::to_string(kMaxHeaderBytes) + " bytes");
    } else if (error == http::error::body_limit) {
      refuse(413, "body_too_large", "request body exceeds " + std::to_string(max_body_bytes_) + " bytes");
    } else if (error == http::error::bad_content_length) {
      refuse(400, "bad_request", "Content-Length is not a number, or conflicts with another length or with chunked encoding");
    } else if (error == http::error::bad_transfer_encoding) {
      refuse(400, "bad_request", "Transfer-Encoding is repeated or combined with Content-Length");
    } else if (error == http::error::bad_chunk || error == http::error::bad_chunk_extension) {
      refuse(400, "bad_request", "malformed chunk: the size must be hexadecimal and fit in 64 bits");
    } else {
      refuse(400, "bad_request", "malformed HTTP request: " + error.message());
    }
    return consumed;
  }
  if (beast.is_done()) complete();
  return consumed;
}

void HttpRequestReader::complete() {
  auto message = parser_->beast.release();
  keep_alive_ = message.keep_alive();
  version_ = message.version();
  request_.method = std::string(message.method_string());
  try {
    const Poco::URI uri(std::string(message.target()));
    request_.path = uri.getPath();
    for (auto& [key, value] : uri.getQueryParameters()) request_.query[key] = std::move(value);
  } catch (const Poco::Exception& e) {
    refuse(400, "bad_request", "malformed request target: " + e.message());
    return;
  }
  for (const auto& field : message)
    request_.headers[Poco::toLower(std::string(field.name_string()))] = std::string(field.value());
  request_.body = std::move(message.body());
  state_ = State::Complete;
}

void HttpRequestReader::refuse(int status, const std::string& code, const std::string& message) {
  refusal_ = plugin::HttpResponse::error(status, code, message);
  keep_alive_ = false;
  state_ = State::Refused;
}

}  // namespace eventnode::core
