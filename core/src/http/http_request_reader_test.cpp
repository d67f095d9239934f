#include "http/http_request_reader.hpp"

#include <gtest/gtest.h>

#include <string>

namespace eventnode::core {
namespace {

struct Fed {
  HttpRequestReader::State state;
  std::size_t consumed;
};

/// Feeds `bytes` as a server would: all at once, keeping what was not consumed.
Fed feedAll(HttpRequestReader& reader, const std::string& bytes) {
  const auto consumed = reader.feed(bytes);
  return {reader.state(), consumed};
}

std::string refusalMessage(const HttpRequestReader& reader) {
  return reader.refusal().body;
}

TEST(HttpRequestReader, ReadsARequestWithItsQueryHeadersAndBody) {
  HttpRequestReader reader(1024);
  const std::string bytes =
      "POST /api/v1/publish?topic=a%20b&x=1 HTTP/1.1\r\nHost: h\r\nX-Api-Key: k\r\nContent-Length: 4\r\n\r\nbody";
  const auto fed = feedAll(reader, bytes);
  ASSERT_EQ(fed.state, HttpRequestReader::State::Complete);
  EXPECT_EQ(fed.consumed, bytes.size());
  auto& request = reader.request();
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path, "/api/v1/publish");
  EXPECT_EQ(request.query.at("topic"), "a b");
  EXPECT_EQ(request.header("X-API-Key"), "k");
  EXPECT_EQ(request.body, "body");
  EXPECT_TRUE(reader.keepAlive());
}

TEST(HttpRequestReader, AssemblesARequestSentOneByteAtATime) {
  HttpRequestReader reader(1024);
  const std::string bytes = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  std::string buffered;
  for (const char byte : bytes) {
    ASSERT_NE(reader.state(), HttpRequestReader::State::Refused) << refusalMessage(reader);
    buffered += byte;
    buffered.erase(0, reader.feed(buffered));
  }
  ASSERT_EQ(reader.state(), HttpRequestReader::State::Complete);
  EXPECT_EQ(reader.request().body, "abcde");
  EXPECT_TRUE(buffered.empty());
}

TEST(HttpRequestReader, LeavesAPipelinedNextRequestUnconsumed) {
  HttpRequestReader reader(1024);
  const std::string first = "GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string second = "GET /metrics HTTP/1.1\r\nHost: h\r\n\r\n";
  const auto fed = feedAll(reader, first + second);
  ASSERT_EQ(fed.state, HttpRequestReader::State::Complete);
  EXPECT_EQ(fed.consumed, first.size());
  EXPECT_EQ(reader.request().path, "/healthz");
}

TEST(HttpRequestReader, HttpOneZeroClosesUnlessAskedToKeepAlive) {
  HttpRequestReader closing(1024);
  feedAll(closing, "GET / HTTP/1.0\r\n\r\n");
  EXPECT_FALSE(closing.keepAlive());
  EXPECT_EQ(closing.version(), 10u);
  HttpRequestReader kept(1024);
  feedAll(kept, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_TRUE(kept.keepAlive());
}

TEST(HttpRequestReader, RefusesTwoContentLengthsEvenWhenTheyAgree) {
  HttpRequestReader reader(1024);
  const auto fed = feedAll(reader, "POST /x HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab");
  ASSERT_EQ(fed.state, HttpRequestReader::State::Refused);
  EXPECT_EQ(reader.refusal().status, 400);
  EXPECT_NE(refusalMessage(reader).find("more than one Content-Length"), std::string::npos);
  EXPECT_FALSE(reader.keepAlive());
}

TEST(HttpRequestReader, RefusesContentLengthBesideChunked) {
  for (const std::string header : {"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
                                   "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n"}) {
    HttpRequestReader reader(1024);
    const auto fed = feedAll(reader, "POST /x HTTP/1.1\r\n" + header + "\r\n3\r\nabc\r\n0\r\n\r\n");
    ASSERT_EQ(fed.state, HttpRequestReader::State::Refused) << header;
    EXPECT_EQ(reader.refusal().status, 400);
  }
}

TEST(HttpRequestReader, RefusesAChunkSizeThatOverflows) {
  HttpRequestReader reader(1024);
  const auto fed = feedAll(
      reader, "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000000000000000003\r\nabc\r\n0\r\n\r\n");
  ASSERT_EQ(fed.state, HttpRequestReader::State::Refused);
  EXPECT_EQ(reader.refusal().status, 400);
  EXPECT_NE(refusalMessage(reader).find("chunk"), std::string::npos);
}

TEST(HttpRequestReader, RefusesAChunkSizeThatIsNotHexadecimal) {
  HttpRequestReader reader(1024);
  const auto fed = feedAll(reader, "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n");
  ASSERT_EQ(fed.state, HttpRequestReader::State::Refused);
  EXPECT_EQ(reader.refusal().status, 400);
}

TEST(HttpRequestReader, RefusesAnOversizedHeaderWith431) {
  HttpRequestReader reader(1024);
  const auto fed = feedAll(reader, "GET / HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  ASSERT_EQ(fed.state, HttpRequestReader::State::Refused);
  EXPECT_EQ(reader.refusal().status, 431);
}

TEST(HttpRequestReader, RefusesADeclaredBodyOverTheLimitBeforeItArrives) {
  HttpRequestReader reader(1024);
  const auto fed = feedAll(reader, "POST /x HTTP/1.1\r\nContent-Length: 5000\r\n\r\n");
  ASSERT_EQ(fed.state, HttpRequestReader::State::Refused);
  EXPECT_EQ(reader.refusal().status, 413);
  EXPECT_NE(refusalMessage(reader).find("1024 bytes"), std::string::npos);
}

TEST(HttpRequestReader, RefusesAChunkedBodyThatGrowsPastTheLimit) {
  HttpRequestReader reader(16);
  const auto fed = feedAll(reader, "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n1\r\nz\r\n");
  ASSERT_EQ(fed.state, HttpRequestReader::State::Refused);
  EXPECT_EQ(reader.refusal().status, 413);
}

TEST(HttpRequestReader, RefusesATransferEncodingItCannotDecode) {
  HttpRequestReader reader(1024);
  const auto fed = feedAll(reader, "POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nabc");
  ASSERT_EQ(fed.state, HttpRequestReader::State::Refused);
  EXPECT_EQ(reader.refusal().status, 501);
}

TEST(HttpRequestReader, ARefusalEchoingBytesThatAreNotUtf8IsStillJson) {
  // Found by fuzz_http_requests: the 501 quoted the header as it came, and
  // printing its JSON threw on the loop thread, which ended the process.
  HttpRequestReader reader(1024);
  const auto fed = feedAll(reader, "POST /x HTTP/1.1\r\nTransfer-Encoding: chenk\x91\xff\r\n\r\n");
  ASSERT_EQ(fed.state, HttpRequestReader::State::Refused);
  EXPECT_EQ(reader.refusal().status, 501);
  EXPECT_TRUE(plugin::readJson(reader.refusal().body).ok()) << reader.refusal().body;
}

TEST(HttpRequestReader, RefusesAMalformedRequestLineAndTarget) {
  for (const std::string bytes : {"GET\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "G\x01T / HTTP/1.1\r\n\r\n",
                                  "GET /a%zz HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n"}) {
    HttpRequestReader reader(1024);
    const auto fed = feedAll(reader, bytes);
    ASSERT_EQ(fed.state, HttpRequestReader::State::Refused) << bytes;
    EXPECT_EQ(reader.refusal().status, 400) << bytes;
  }
}

TEST(HttpRequestReader, KnowsWhenTheClientWaitsForContinue) {
  HttpRequestReader reader(1024);
  std::string bytes = "POST /x HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n";
  EXPECT_EQ(feedAll(reader, bytes).state, HttpRequestReader::State::NeedMore);
  EXPECT_TRUE(reader.headerDone());
  EXPECT_TRUE(reader.expectsContinue());
  EXPECT_EQ(feedAll(reader, "abc").state, HttpRequestReader::State::Complete);
  EXPECT_EQ(reader.request().body, "abc");
}

TEST(HttpRequestReader, BytesNotConsumedAreFedAgainWithTheNextOnes) {
  HttpRequestReader reader(1024);
  std::string buffered = "GET / HTTP/1.1\r\nHo";
  buffered.erase(0, reader.feed(buffered));
  EXPECT_TRUE(reader.started());
  EXPECT_FALSE(reader.headerDone());
  EXPECT_EQ(reader.state(), HttpRequestReader::State::NeedMore);
  buffered += "st: h\r\n\r\n";
  buffered.erase(0, reader.feed(buffered));
  ASSERT_EQ(reader.state(), HttpRequestReader::State::Complete);
  EXPECT_EQ(reader.request().header("host"), "h");
  EXPECT_TRUE(buffered.empty());
}

}  // namespace
}  // namespace eventnode::core
