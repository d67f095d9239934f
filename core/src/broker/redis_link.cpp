#include "broker/redis_link.hpp"

#include <hiredis/hiredis.h>
#include <poll.h>

namespace eventnode::core {
namespace {

timeval toTimeval(std::chrono::milliseconds duration) {
  return {static_cast<time_t>(duration.count() / 1000), static_cast<suseconds_t>((duration.count() % 1000) * 1000)};
}

RedisReply copyReply(const redisReply& reply) {
  RedisReply out;
  switch (reply.type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::String;
      out.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::Status;
      out.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::Error;
      out.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::Integer;
      out.integer = reply.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::Array;
      out.elements.reserve(reply.elements);
      for (std::size_t i = 0; i < reply.elements; ++i) out.elements.push_back(copyReply(*reply.element[i]));
      break;
    default:
      out.type = RedisReply::Type::Nil;
  }
  return out;
}

/// Takes ownership of a reply hiredis allocated.
RedisReply adopt(void* raw) {
  auto* reply = static_cast<redisReply*>(raw);
  auto out = copyReply(*reply);
  freeReplyObject(reply);
  return out;
}

}  // namespace

RedisLink::RedisLink(RedisEndpoint endpoint, std::chrono::milliseconds timeout)
    : endpoint_(std::move(endpoint)), timeout_(timeout) {}

RedisLink::~RedisLink() {
  close();
}

void RedisLink::connect() {
  close();
  auto* context = redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, toTimeval(timeout_));
  if (!context) throw RedisError("cannot allocate a Redis connection");
  if (context->err) {
    const std::string reason = context->errstr;
    redisFree(context);
    throw RedisError(endpoint_.display() + " is unreachable: " + reason);
  }
  context_ = context;
  redisSetTimeout(context_, toTimeval(timeout_));
  redisEnableKeepAlive(context_);
  if (!endpoint_.password.empty()) {
    const auto reply = command({"AUTH", endpoint_.password});
    if (reply.isError()) {
      close();
      throw RedisError(endpoint_.display() + " refused the password: " + reply.str);
    }
  }
  // A server with a password answers NOAUTH here when none was given.
  const auto ping = command({"PING"});
  if (ping.isError()) {
    close();
    throw RedisError(endpoint_.display() + " refused the connection: " + ping.str);
  }
  if (endpoint_.db != 0) {
    const auto reply = command({"SELECT", std::to_string(endpoint_.db)});
    if (reply.isError()) {
      close();
      throw RedisError(endpoint_.display() + " refused database " + std::to_string(endpoint_.db) + ": " + reply.str);
    }
  }
}

bool RedisLink::closedByServer() const {
  if (!context_) return false;
  pollfd watched{context_->fd, POLLIN | POLLRDHUP, 0};
  return ::poll(&watched, 1, 0) > 0 && watched.revents != 0;
}

void RedisLink::close() {
  if (context_) redisFree(context_);
  context_ = nullptr;
}

void RedisLink::fail(const std::string& what) {
  const std::string reason = context_ && context_->err ? context_->errstr : "not connected";
  close();
  throw RedisError(endpoint_.display() + ": " + what + " failed: " + (reason.empty() ? "connection lost" : reason));
}

void RedisLink::append(const RedisCommand& argv) {
  if (!context_) fail("sending");
  std::vector<const char*> args;
  std::vector<size_t> lengths;
  args.reserve(argv.size());
  lengths.reserve(argv.size());
  for (const auto& arg : argv) {
    args.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  if (redisAppendCommandArgv(context_, static_cast<int>(args.size()), args.data(), lengths.data()) != REDIS_OK)
    fail("sending");
}

void RedisLink::flush() {
  int done = 0;
  while (!done) {
    if (redisBufferWrite(context_, &done) != REDIS_OK) fail("writing");
  }
}

RedisReply RedisLink::command(const RedisCommand& argv) {
  append(argv);
  void* raw = nullptr;
  if (redisGetReply(context_, &raw) != REDIS_OK || !raw) fail("reading a reply");
  return adopt(raw);
}

std::vector<RedisReply> RedisLink::pipeline(const std::vector<RedisCommand>& commands) {
  for (const auto& argv : commands) append(argv);
  std::vector<RedisReply> replies;
  replies.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || !raw) fail("reading a reply");
    replies.push_back(adopt(raw));
  }
  return replies;
}

void RedisLink::send(const RedisCommand& argv) {
  append(argv);
  flush();
}

std::optional<RedisReply> RedisLink::next(std::chrono::milliseconds wait) {
  if (!context_) fail("reading");
  void* raw = nullptr;
  if (redisGetReplyFromReader(context_, &raw) != REDIS_OK) fail("parsing a reply");
  if (raw) return adopt(raw);
  pollfd watch{context_->fd, POLLIN, 0};
  const int ready = ::poll(&watch, 1, static_cast<int>(wait.count()));
  if (ready < 0 && errno == EINTR) return std::nullopt;
  if (ready < 0) fail("waiting");
  if (ready == 0) return std::nullopt;
  if (redisBufferRead(context_) != REDIS_OK) fail("reading");
  if (redisGetReplyFromReader(context_, &raw) != REDIS_OK) fail("parsing a reply");
  if (raw) return adopt(raw);
  return std::nullopt;
}

}  // namespace eventnode::core
