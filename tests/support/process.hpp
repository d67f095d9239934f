#pragma once
// Test helpers for real processes on loopback: run a command and collect its
// output and exit code, or keep a node running and stop it by PID.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace eventnode::tests {

struct CommandResult {
  int exit_code = -1;  ///< the exit status, or 128+signal when killed
  std::string output;  ///< stdout and stderr together
};

/// Runs argv[0] with arguments, waits up to `timeout`, kills it after that.
CommandResult runCommand(const std::vector<std::string>& argv, std::chrono::seconds timeout = std::chrono::seconds(60));

/// A child process whose output goes to a log file; killed if still running when destroyed.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, std::filesystem::path log_file);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  /// Sends `signal` and waits for the exit; returns the exit code (128+signal when killed by one), -1 on timeout.
  int stop(int signal, std::chrono::seconds timeout = std::chrono::seconds(30));
  /// True while the process runs; sets exitCode() once it ended.
  bool running();
  int exitCode() const { return exit_code_; }
  std::string log() const;

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::filesystem::path log_file_;
};

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

/// A TCP port on 127.0.0.1, below the ephemeral range, that was free a
/// moment ago and that this process has not handed out before.
int freePort();

struct HttpResult {
  int status = 0;  ///< 0 when the connection failed
  std::string body;
};

/// One HTTP request to 127.0.0.1:port; headers as "Name: value".
HttpResult httpRequest(int port, const std::string& method, const std::string& path, const std::string& body = {},
                       const std::vector<std::string>& headers = {});

/// A fresh empty folder under the system temp dir, removed by the caller's fixture.
std::filesystem::path makeTempDir(const std::string& prefix);

std::string readFile(const std::filesystem::path& file);
void writeFile(const std::filesystem::path& file, const std::string& text);

}  // namespace eventnode::tests
