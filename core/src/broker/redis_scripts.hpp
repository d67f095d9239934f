#pragma once
// The key layout in Redis and the two Lua scripts that keep a topic's offset,
// epoch and history consistent: each runs atomically inside Redis, so the
// offset a publication gets, its place in history and its pub/sub message
// are one step that no other process can interleave with.
#include <string>
#include <string_view>

namespace eventnode::core::redis_keys {

/// Hash {e: epoch, s: last offset}.
inline std::string meta(std::string_view prefix, std::string_view topic) {
  return std::string(prefix) + ":{" + std::string(topic) + "}:meta";
}
/// Stream of {d: data, l: 1 live | 0 recorded only}, entry IDs <offset>-0.
inline std::string stream(std::string_view prefix, std::string_view topic) {
  return std::string(prefix) + ":{" + std::string(topic) + "}:stream";
}
/// Pub/sub channel of a topic's publications: "<offset>:<epoch>:<live>:<data>".
inline std::string topicChannel(std::string_view prefix, std::string_view topic) {
  return std::string(prefix) + ".t." + std::string(topic);
}
/// Pub/sub channel of bus-only publications: the JSON data as it is.
inline std::string busChannel(std::string_view prefix, std::string_view topic) {
  return std::string(prefix) + ".bus." + std::string(topic);
}
/// The answer {offset, epoch} a publication with an idempotency key got, kept 5 minutes.
inline std::string result(std::string_view prefix, std::string_view topic, std::string_view key) {
  return std::string(prefix) + ":{" + std::string(topic) + "}:result:" + std::string(key);
}
/// A server's heartbeat: its JSON description, expiring after the TTL.
inline std::string server(std::string_view prefix, std::string_view id) {
  return std::string(prefix) + ":server:" + std::string(id);
}

}  // namespace eventnode::core::redis_keys

namespace eventnode::core::redis_scripts {

/// KEYS: meta, stream, result. ARGV: channel, data, history size, history
/// TTL s, meta TTL s, epoch for a topic that has none, live (1|0),
/// idempotency key ('' for none). Returns {offset, epoch}; a key seen in the
/// last 5 minutes returns what its first publication got, publishing nothing.
inline constexpr std::string_view kPublish = R"lua(
if ARGV[8] ~= '' then
  local seen = redis.call('get', KEYS[3])
  if seen then
    local colon = string.find(seen, ':', 1, true)
    return {tonumber(string.sub(seen, 1, colon - 1)), string.sub(seen, colon + 1)}
  end
end
local epoch = redis.call('hget', KEYS[1], 'e')
if not epoch then
  epoch = ARGV[6]
  redis.call('hset', KEYS[1], 'e', epoch)
end
local offset = redis.call('hincrby', KEYS[1], 's', 1)
redis.call('expire', KEYS[1], ARGV[5])
local size = tonumber(ARGV[3])
if size > 0 then
  if offset == 1 then redis.call('del', KEYS[2]) end
  redis.call('xadd', KEYS[2], 'MAXLEN', size, offset .. '-0', 'd', ARGV[2], 'l', ARGV[7])
  local ttl = tonumber(ARGV[4])
  if ttl > 0 then redis.call('expire', KEYS[2], ttl) end
end
redis.call('publish', ARGV[1], offset .. ':' .. epoch .. ':' .. ARGV[7] .. ':' .. ARGV[2])
if ARGV[8] ~= '' then redis.call('set', KEYS[3], offset .. ':' .. epoch, 'EX', 300) end
return {offset, epoch}
)lua";

/// KEYS: meta, stream. ARGV: epoch for a topic that has none, meta TTL s,
/// first offset wanted (0: none, only the position), most entries.
/// Returns {epoch, last offset, {{id, {field, value, ...}}, ...}}.
inline constexpr std::string_view kRead = R"lua(
local epoch = redis.call('hget', KEYS[1], 'e')
if not epoch then
  epoch = ARGV[1]
  redis.call('hset', KEYS[1], 'e', epoch)
  redis.call('expire', KEYS[1], ARGV[2])
end
local top = tonumber(redis.call('hget', KEYS[1], 's') or '0')
local entries = {}
local from = tonumber(ARGV[3])
if from > 0 and from <= top then
  entries = redis.call('xrange', KEYS[2], from .. '-0', '+', 'COUNT', ARGV[4])
end
return {epoch, top, entries}
)lua";

}  // namespace eventnode::core::redis_scripts
