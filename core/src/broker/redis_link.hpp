#pragma once
// One connection to one Redis instance over hiredis's synchronous API:
// commands, pipelines, and the pushed messages of a pub/sub connection.
// Not thread-safe: each user owns its link. Any I/O error closes the link
// and throws RedisError; the owner decides when to connect again.
#include "broker/redis_endpoint.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

struct redisContext;

namespace eventnode::core {

/// A reply, copied out of hiredis so nothing of it leaks past this file.
struct RedisReply {
  enum class Type { String, Array, Integer, Nil, Status, Error };
  Type type = Type::Nil;
  long long integer = 0;
  std::string str;  ///< String, Status and Error
  std::vector<RedisReply> elements;

  bool isError() const { return type == Type::Error; }
  bool isNil() const { return type == Type::Nil; }
};

/// The link cannot be used: not connected, an I/O error, a refused AUTH.
class RedisError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using RedisCommand = std::vector<std::string>;

class RedisLink {
 public:
  RedisLink(RedisEndpoint endpoint, std::chrono::milliseconds timeout);
  ~RedisLink();
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  /// Connects, authenticates and selects the database. Throws RedisError with the reason.
  void connect();
  void close();
  bool connected() const { return context_ != nullptr; }
  /// For a request/reply link with nothing in flight: whether the server has
  /// closed it (a restart, an idle timeout) since its last reply. Nothing is
  /// ever readable on such a link otherwise, so this asks the socket alone.
  bool closedByServer() const;
  const RedisEndpoint& endpoint() const { return endpoint_; }

  /// Sends one command and waits for its reply (an error reply is returned, not thrown).
  RedisReply command(const RedisCommand& argv);
  /// Sends every command, then reads every reply: one round trip for all.
  std::vector<RedisReply> pipeline(const std::vector<RedisCommand>& commands);

  /// Pub/sub: sends a command without waiting for a reply.
  void send(const RedisCommand& argv);
  /// Pub/sub: the next pushed reply, or nullopt when none came within `wait`.
  std::optional<RedisReply> next(std::chrono::milliseconds wait);

 private:
  void append(const RedisCommand& argv);
  void flush();
  [[noreturn]] void fail(const std::string& what);

  RedisEndpoint endpoint_;
  std::chrono::milliseconds timeout_;
  redisContext* context_ = nullptr;
};

}  // namespace eventnode::core
