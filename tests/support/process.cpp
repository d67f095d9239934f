#include "process.hpp"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace eventnode::tests {
namespace {

pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& output) {
  const int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open " + output.string());
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    const int null_in = ::open("/dev/null", O_RDONLY);
    ::dup2(null_in, STDIN_FILENO);
    // A clean signal mask: the test runner may block signals the child must receive.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(args[0], args.data());
    _exit(127);
  }
  ::close(fd);
  if (pid < 0) throw std::runtime_error("fork failed");
  return pid;
}

int decodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

CommandResult runCommand(const std::vector<std::string>& argv, std::chrono::seconds timeout) {
  const auto output = makeTempDir("cmd") / "output.txt";
  const pid_t pid = spawn(argv, output);
  CommandResult result;
  int status = 0;
  const bool ended = waitUntil([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, timeout);
  if (!ended) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  result.exit_code = decodeStatus(status);
  result.output = readFile(output);
  std::filesystem::remove_all(output.parent_path());
  return result;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, std::filesystem::path log_file)
    : log_file_(std::move(log_file)) {
  pid_ = spawn(argv, log_file_);
}

ChildProcess::~ChildProcess() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

bool ChildProcess::running() {
  if (exit_code_ != -1 || pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    exit_code_ = decodeStatus(status);
    return false;
  }
  return true;
}

int ChildProcess::stop(int signal, std::chrono::seconds timeout) {
  if (!running()) return exit_code_;
  ::kill(pid_, signal);
  if (!waitUntil([&] { return !running(); }, timeout)) return -1;
  return exit_code_;
}

std::string ChildProcess::log() const {
  return readFile(log_file_);
}

int freePort() {
  // Below Linux's ephemeral range (32768-60999): a port bind(0) hands out can
  // be taken again, as the source port of any client connection, before the
  // node binds it. And never the same port twice in one process: a port stays
  // free until the node it was picked for binds it, so two picks before then
  // could otherwise return the same one. tests/gateway/node_harness.py picks
  // the same way.
  constexpr int kFirst = 20000;
  constexpr int kEnd = 32768;
  static std::mutex mutex;
  static std::set<int> handed_out;
  static std::minstd_rand random(std::random_device{}());
  std::lock_guard lock(mutex);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const int port = kFirst + static_cast<int>(random() % (kEnd - kFirst));
    if (handed_out.contains(port)) continue;
    try {
      Poco::Net::ServerSocket socket;
      socket.bind(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)), false);
    } catch (const Poco::Exception&) {
      continue;
    }
    handed_out.insert(port);
    return port;
  }
  throw std::runtime_error("no free port in 20000-32767 after 1000 tries");
}

HttpResult httpRequest(int port, const std::string& method, const std::string& path, const std::string& body,
                       const std::vector<std::string>& headers) {
  HttpResult result;
  try {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
    session.setTimeout(Poco::Timespan(10, 0));
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& header : headers) {
      const auto colon = header.find(':');
      request.set(header.substr(0, colon), header.substr(colon + 2));
    }
    if (!body.empty() || method == "POST") {
      if (!request.has("Content-Type")) request.setContentType("application/json");
      request.setContentLength(static_cast<std::streamsize>(body.size()));
    }
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    auto& in = session.receiveResponse(response);
    result.status = response.getStatus();
    Poco::StreamCopier::copyToString(in, result.body);
  } catch (const Poco::Exception&) {
    result.status = 0;
  }
  return result;
}

std::filesystem::path makeTempDir(const std::string& prefix) {
  static std::mt19937_64 random{std::random_device{}()};
  const auto dir = std::filesystem::temp_directory_path() /
                   ("eventnode-" + prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
  std::filesystem::create_directories(dir);
  return dir;
}

std::string readFile(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void writeFile(const std::filesystem::path& file, const std::string& text) {
  std::ofstream(file) << text;
}

}  // namespace eventnode::tests
