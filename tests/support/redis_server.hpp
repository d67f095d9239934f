#pragma once
// A real redis-server (the Debian package) on a free loopback port for one
// test, stopped when the object goes. Restartable on the same port and dir,
// with or without its append-only file, to test what a broker does when
// Redis goes away and comes back.
#include "process.hpp"
#include "temp_dir.hpp"

#include <csignal>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace eventnode::tests {

class RedisServer {
 public:
  explicit RedisServer(std::string password = {}, bool appendonly = false)
      : dir_("redis"), port_(freePort()), password_(std::move(password)), appendonly_(appendonly) {
    start();
  }
  ~RedisServer() { stop(); }

  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

  void start() {
    std::vector<std::string> argv{"/usr/bin/redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                  "--dir", dir_.path().string(), "--save", "", "--appendonly",
                                  appendonly_ ? "yes" : "no"};
    if (!password_.empty()) argv.insert(argv.end(), {"--requirepass", password_});
    process_ = std::make_unique<ChildProcess>(argv, dir_.path() / "redis.log");
    std::vector<std::string> ping{"/usr/bin/redis-cli", "-p", std::to_string(port_)};
    if (!password_.empty()) ping.insert(ping.end(), {"--no-auth-warning", "-a", password_});
    ping.push_back("PING");
    if (!waitUntil([&] { return runCommand(ping, std::chrono::seconds(5)).output.find("PONG") != std::string::npos; },
                   std::chrono::seconds(10)))
      throw std::runtime_error("redis-server did not answer PING on port " + std::to_string(port_) + ": " +
                               process_->log());
  }

  void stop() {
    if (process_) process_->stop(SIGTERM, std::chrono::seconds(10));
    process_.reset();
  }

 private:
  test_support::TempDir dir_;
  int port_;
  std::string password_;
  bool appendonly_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace eventnode::tests
