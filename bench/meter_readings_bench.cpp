// meter_readings_bench: readings accepted end to end by the meter plugin.
//
// C keep-alive HTTP connections (one thread each) POST readings to
// /api/meters/submit-reading for M meters of one owner, as fast as answers
// come or paced to --rate; one WebSocket of that owner receives each
// MeterReadingReceived. A reading's kWh carries its index (1 + i × 10^-6), so
// the event says which send it answers: the latency is from the request's
// first byte to the event's arrival, through HTTP, validation, SQLite and the
// gateway. Every reading must be answered 200 and its event arrive exactly once.
//
//   meter_readings_bench --port P --token JWT [--readings N] [--connections C] [--meters M] [--rate R] [--node-pid PID]
//
// Prints one RESULT line. Run by bench/run_meter.sh, which starts the node.
#include "bench_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <atomic>
#include <thread>

namespace {

using namespace eventnode::bench;

constexpr const char* kUsage =
    "usage: meter_readings_bench --port P --token JWT [--readings N] [--connections C] [--meters M]\n"
    "                            [--rate READINGS_PER_S] [--node-pid PID]\n";
constexpr const char* kWallet = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";

int dial(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error("send failed");
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

/// One HTTP/1.1 exchange on a kept-alive connection: the status and body.
std::pair<int, std::string> exchange(int fd, std::string& buffer, const std::string& request) {
  writeAll(fd, request);
  char chunk[8192];
  while (true) {
    const auto end = buffer.find("\r\n\r\n");
    if (end != std::string::npos) {
      const auto length = headerValue(std::string_view(buffer).substr(0, end), "content-length");
      const auto body_size = length ? std::stoul(*length) : 0;
      if (buffer.size() >= end + 4 + body_size) {
        const int status = std::atoi(buffer.c_str() + 9);
        std::string body = buffer.substr(end + 4, body_size);
        buffer.erase(0, end + 4 + body_size);
        return {status, body};
      }
    }
    const auto n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) throw std::runtime_error("connection closed while waiting for an answer");
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
}

std::string post(const std::string& path, const std::string& token, const std::string& body) {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string rfc3339(int64_t unix_ms) {
  const time_t seconds = unix_ms / 1000;
  tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  return fmt("%s.%03dZ", text, static_cast<int>(unix_ms % 1000));
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0, connections = 4, meters = 50;
  long readings = 20000, node_pid = 0;
  double rate = 0;
  std::string token;
  try {
    FlagReader flags(argc, argv, kUsage);
    std::string text;
    while (flags.next()) {
      const auto& f = flags.flag();
      if (f == "--port")
        port = std::stoi(flags.value());
      else if (f == "--token")
        token = flags.value();
      else if (f == "--readings")
        readings = std::stol(flags.value());
      else if (f == "--connections")
        connections = std::stoi(flags.value());
      else if (f == "--meters")
        meters = std::stoi(flags.value());
      else if (f == "--rate")
        rate = flags.real(text).value_or(-1);
      else if (f == "--node-pid")
        node_pid = std::stol(flags.value());
      else
        throw std::invalid_argument("unknown flag " + f);
    }
    if (port <= 0 || token.empty() || readings <= 0 || readings > 90'000'000 || connections <= 0 || meters <= 0 ||
        rate < 0)
      throw std::invalid_argument("--port and --token are needed; counts must be positive");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "meter_readings_bench: %s\n%s", e.what(), kUsage);
    return kExitUsage;
  }

  // Meters of one owner; registering one again is answered 200.
  const auto run_id = std::to_string(nowNs() % 1'000'000'007);
  try {
    const int fd = dial(port);
    std::string buffer;
    for (int m = 0; m < meters; ++m) {
      const auto [status, body] = exchange(fd, buffer,
                                           post("/api/meters", token,
                                                "{\"meter_id\":\"bench-" + run_id + "-" + std::to_string(m) +
                                                    "\",\"wallet_address\":\"" + kWallet + "\"}"));
      if (status != 201 && status != 200) throw std::runtime_error("POST /api/meters answered " + body);
    }
    ::close(fd);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "meter_readings_bench: setup: %s\n", e.what());
    return kExitSetupFailed;
  }

  // The owner's WebSocket: its automatic user:<sub> subscription carries the events.
  std::vector<std::atomic<int64_t>> sent_at(static_cast<std::size_t>(readings));
  std::vector<std::atomic<int>> seen(static_cast<std::size_t>(readings));
  Histogram latency;
  std::atomic<long> events{0}, duplicates{0};
  std::atomic<bool> greeted{false};  // the node's "connected": the user topic is subscribed from here on
  const int ws = dial(port);
  {
    writeAll(ws, "GET /ws?token=" + token +
                     " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  }
  std::thread reader([&] {
    std::string buffer;
    char chunk[65536];
    bool upgraded = false;
    while (events.load() + duplicates.load() < readings) {
      const auto n = ::recv(ws, chunk, sizeof chunk, 0);
      if (n <= 0) return;
      buffer.append(chunk, static_cast<std::size_t>(n));
      if (!upgraded) {
        const auto end = buffer.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        buffer.erase(0, end + 4);
        upgraded = true;
      }
      std::size_t at = 0;
      while (true) {
        const auto h = parseFrameHeader(reinterpret_cast<const unsigned char*>(buffer.data() + at), buffer.size() - at);
        if (!h || buffer.size() - at < h->size + h->length) break;
        const std::string_view payload(buffer.data() + at + h->size, h->length);
        at += h->size + h->length;
        if (!greeted && payload.find("\"connected\"") != std::string_view::npos) greeted = true;
        if (payload.find("\"MeterReadingReceived\"") == std::string_view::npos) continue;
        const auto kwh_at = payload.find("\"kwh_amount\":");
        const double kwh = std::strtod(payload.data() + kwh_at + 13, nullptr);
        const auto index = std::llround((kwh - 1) * 1e6);
        if (index < 0 || index >= readings) continue;
        if (seen[static_cast<std::size_t>(index)].fetch_add(1) != 0) {
          ++duplicates;
          continue;
        }
        latency.record(nowNs() - sent_at[static_cast<std::size_t>(index)].load());
        ++events;
      }
      buffer.erase(0, at);
    }
  });

  for (const int64_t until = nowNs() + 10 * kNsPerSec; !greeted && nowNs() < until;)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (!greeted) {
    std::fprintf(stderr, "meter_readings_bench: the owner's WebSocket was not greeted within 10 s\n");
    ::shutdown(ws, SHUT_RDWR);
    reader.join();
    return kExitSetupFailed;
  }
  const double cpu_before = node_pid ? readCpuSeconds(static_cast<int>(node_pid)) : -1;
  std::atomic<long> refused{0};
  const int64_t base_ms = static_cast<int64_t>(std::time(nullptr)) * 1000 - 3'600'000;  // an hour back, unique ms
  const int64_t start = nowNs();
  std::vector<std::thread> senders;
  for (int c = 0; c < connections; ++c) {
    senders.emplace_back([&, c] {
      try {
        const int fd = dial(port);
        std::string buffer;
        for (long i = c; i < readings; i += connections) {
          if (rate > 0) {
            const int64_t due = start + static_cast<int64_t>(static_cast<double>(i) / rate * 1e9);
            while (nowNs() < due) std::this_thread::sleep_for(std::chrono::microseconds(50));
          }
          const auto body =
              fmt("{\"meter_id\":\"bench-%s-%ld\",\"kwh_amount\":%.6f,\"reading_timestamp\":\"%s\"}", run_id.c_str(),
                  i % meters, 1 + static_cast<double>(i) * 1e-6, rfc3339(base_ms + i).c_str());
          sent_at[static_cast<std::size_t>(i)].store(nowNs());
          if (exchange(fd, buffer, post("/api/meters/submit-reading", token, body)).first != 200) ++refused;
        }
        ::close(fd);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "meter_readings_bench: sender %d: %s\n", c, e.what());
        refused += readings;
      }
    });
  }
  for (auto& sender : senders) sender.join();
  const int64_t answered = nowNs();
  const int64_t deadline = answered + 30 * kNsPerSec;
  while (events.load() < readings && nowNs() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const int64_t delivered = nowNs();
  ::shutdown(ws, SHUT_RDWR);
  reader.join();
  const double node_cpu = node_pid ? readCpuSeconds(static_cast<int>(node_pid)) - cpu_before : -1;

  const double elapsed = seconds(answered - start);
  std::printf(
      "RESULT readings=%ld connections=%d meters=%d rate=%s answered_per_s=%.0f delivered_per_s=%.0f refused=%ld "
      "events=%ld duplicates=%ld p50_ms=%.2f p99_ms=%.2f max_ms=%.2f node_cpu_s=%.2f\n",
      readings, connections, meters, rate > 0 ? fmt("%.0f", rate).c_str() : "max",
      static_cast<double>(readings) / elapsed, static_cast<double>(events.load()) / seconds(delivered - start),
      refused.load(), events.load(), duplicates.load(), static_cast<double>(latency.percentile(0.5)) / 1e6,
      static_cast<double>(latency.percentile(0.99)) / 1e6, static_cast<double>(latency.percentile(1.0)) / 1e6,
      node_cpu);
  return refused.load() == 0 && events.load() == readings && duplicates.load() == 0 ? kExitOk : kExitCheckFailed;
}
