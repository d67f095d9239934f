// pow_intake_cpu: the CPU cost of the pow_batches intake's hot path without
// sockets or other threads, for `valgrind --tool=callgrind`, whose instruction
// counts do not depend on what else the machine runs.
//
// It builds --batches messages shaped like pow_intake_bench's (1,000 nonces,
// dist in shortest form), then reads each one with the chosen path:
//   --path fast   parseBatchMessage (the one-pass reader)
//   --path json   nlohmann's parse + validateBatch (the reader before it)
//   --path none   nothing: the cost of building the messages, to subtract
// and with --store DIR also records them through BatchStore, 16 per commit;
// --publish 1 adds the topic recorder's work per batch: the recorder message
// (recorded once, published as text) copied into the event and into its frame,
// as the core's publishText() does.
// Instructions per batch: run it twice with different --batches and divide
// the difference, which cancels start-up and message building:
//   valgrind --tool=callgrind --callgrind-out-file=/tmp/a bin/pow_intake_cpu --batches 200
//   valgrind --tool=callgrind --callgrind-out-file=/tmp/b bin/pow_intake_cpu --batches 400
#include "batch_message.hpp"
#include "batch_store.hpp"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace eventnode::plugins::pow_batches;

std::string makeMessage(std::mt19937_64& random, int nonces, std::uint64_t seq) {
  std::string m = R"({"type":"generated","batch":{"public_key":"pk-0123456789abcdef","block_hash":"0x)" +
                  std::to_string(random()) + R"(","block_height":)" + std::to_string(seq) + R"(,"nonces":[)";
  char buffer[64];
  for (int i = 0; i < nonces; ++i) {
    if (i) m += ',';
    m += std::to_string(random() >> 1);
  }
  m += R"(],"dist":[)";
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int i = 0; i < nonces; ++i) {
    if (i) m += ',';
    const auto end = std::to_chars(buffer, buffer + sizeof buffer, unit(random)).ptr;
    m.append(buffer, end);
  }
  m += R"(],"node_id":1},"id":"6f1c2a4e-0b7d-4c1e-9a55-)" + std::to_string(seq) + R"("})";
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  int batches = 200;
  int nonces = 1000;
  std::string path = "fast";
  std::string store_dir;
  bool publish = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--batches") {
      batches = std::atoi(argv[i + 1]);
    } else if (flag == "--nonces") {
      nonces = std::atoi(argv[i + 1]);
    } else if (flag == "--path") {
      path = argv[i + 1];
    } else if (flag == "--publish") {
      publish = std::string_view(argv[i + 1]) == "1";
    } else if (flag == "--store") {
      store_dir = argv[i + 1];
    } else {
      std::fprintf(
          stderr,
          "usage: pow_intake_cpu [--batches N] [--nonces K] [--path fast|json|none] [--publish 1] [--store DIR]\n");
      return 2;
    }
  }
  std::mt19937_64 random(42);
  std::vector<std::string> messages;
  for (int i = 0; i < batches; ++i) messages.push_back(makeMessage(random, nonces, static_cast<std::uint64_t>(i)));

  std::unique_ptr<BatchStore> store;
  if (!store_dir.empty())
    store = std::make_unique<BatchStore>(store_dir + "/pow_batches.sqlite", std::vector<std::string>{"bus"});
  std::vector<RecordRequest> group;
  std::size_t hashed = 0;
  for (const auto& text : messages) {
    if (path == "none") continue;  // message building only: the baseline to subtract
    Batch batch;
    if (path == "json") {
      const auto message = eventnode::plugin::Json::parse(text);
      auto result = validateBatch(BatchKind::Generated, message.at("batch"), 100000);
      batch = std::get<Batch>(std::move(result));
    } else {
      auto result = parseBatchMessage(text, 100000);
      batch = std::get<BatchMessage>(std::move(result)).batch;
    }
    hashed += batch.content_hash.size();
    if (publish) {
      const auto event =
          recorderMessage({batch, "ml-1", "websocket"}, "6f1c2a4e-0b7d-4c1e-9a55-000000000000", 1763784000);
      const std::string frame = "{\"type\":\"event\",\"topic\":\"pow.generated\",\"offset\":1,\"data\":" + event + "}";
      hashed += frame.size() > 0;
    }
    if (store) {
      group.push_back({std::move(batch), "ml-1", "websocket"});
      if (group.size() == 16) {
        store->record(group);
        group.clear();
      }
    }
  }
  if (store && !group.empty()) store->record(group);
  std::printf("batches=%d nonces=%d path=%s bytes_per_message=%zu hashed=%zu\n", batches, nonces, path.c_str(),
              messages.empty() ? 0 : messages[0].size(), hashed);
  return 0;
}
