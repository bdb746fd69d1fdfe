/**
 * The Lua scripts of {@link RedisStore}. Each touches exactly one key, `KEYS[1]` (the session's),
 * so each is one round trip, atomic, and single-slot in a Redis Cluster.
 *
 * Layout of a session key:
 * - a live session is a HASH: one field per top-level key of the data, holding that value's JSON
 *   text, plus the marker field `""` (an empty name, which no session key can have) so that an
 *   empty session still exists;
 * - a destroyed session (tombstone) is a STRING (`destroyed`) that expires when the session
 *   would have;
 * - the key's TTL (`PEXPIRE`, milliseconds) is the session's idle timeout.
 * Any other type under the prefix is refused with an error rather than overwritten.
 *
 * Long argument lists go to `HSET`/`HDEL` in chunks of 200, below Lua's `unpack` limit.
 * @internal
 */
import { createHash } from 'node:crypto';

/** A Lua script and its SHA1, for `EVALSHA` with an `EVAL` fallback. */
export interface LuaScript {
  /** What it does, for messages. */
  readonly name: string;
  /** The Lua source. */
  readonly source: string;
  /** SHA1 of the source (hex), as `SCRIPT LOAD` would answer. */
  readonly sha: string;
}

function script(name: string, source: string): LuaScript {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/** The error a script answers for a key of a foreign type (no session id in it). */
const FOREIGN = `return redis.error_reply('WRONGTYPE RedisStore: the key holds a ' .. kind .. ', not a session')`;

/**
 * Reads a session in one step. Reply: `{0}` nothing; `{1, pttl, {field, json, ...}}` a live
 * session (`pttl` is -1 when the key has no TTL); `{2}` a tombstone.
 */
export const LOAD = script(
  'load',
  `local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'hash' then
  return {1, redis.call('PTTL', KEYS[1]), redis.call('HGETALL', KEYS[1])}
elseif kind == 'none' then
  return {0}
elseif kind == 'string' then
  return {2}
end
${FOREIGN}`,
);

/**
 * Replaces the whole record (and revives a tombstone). ARGV: pttl, then field/json pairs.
 */
export const SET = script(
  'set',
  `local kind = redis.call('TYPE', KEYS[1])['ok']
if kind ~= 'hash' and kind ~= 'none' and kind ~= 'string' then
  ${FOREIGN}
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], '', '')
for i = 2, #ARGV, 200 do
  redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + 199, #ARGV)))
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`,
);

/**
 * Writes changed fields and deletes removed ones, creating a missing session and never touching a
 * tombstone. ARGV: pttl, the number n of fields to delete, those n fields, then field/json pairs.
 * Reply: 1 written, 0 a tombstone (nothing written).
 */
export const PATCH = script(
  'patch',
  `local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'string' then return 0 end
if kind ~= 'hash' and kind ~= 'none' then
  ${FOREIGN}
end
local first = 3 + tonumber(ARGV[2])
if kind == 'hash' then
  for i = 3, first - 1, 200 do
    redis.call('HDEL', KEYS[1], unpack(ARGV, i, math.min(i + 199, first - 1)))
  end
end
redis.call('HSET', KEYS[1], '', '')
for i = first, #ARGV, 200 do
  redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + 199, #ARGV)))
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`,
);

/**
 * Adds to a numeric field. ARGV: pttl, field, amount (decimal text). The field's JSON must be a
 * number (a missing field counts as 0); the sum is a double, as in JavaScript, written with 17
 * significant digits so that it parses back to exactly the same number. A tombstone is not
 * written to (the sum is still answered, as if the session were empty).
 * Reply: `{1, sum}`; `{0, json}` the field holds something else; `{2}` the sum is not finite.
 */
export const INCREMENT = script(
  'increment',
  `local kind = redis.call('TYPE', KEYS[1])['ok']
local current = 0
if kind == 'hash' then
  local text = redis.call('HGET', KEYS[1], ARGV[2])
  if text then
    local n = nil
    if string.find(text, '^%-?%d') then n = tonumber(text) end
    if n == nil then return {0, text} end
    current = n
  end
elseif kind ~= 'none' and kind ~= 'string' then
  ${FOREIGN}
end
local sum = current + tonumber(ARGV[3])
if sum ~= sum or sum == math.huge or sum == -math.huge then return {2} end
local text = string.format('%.17g', sum)
if kind ~= 'string' then
  redis.call('HSET', KEYS[1], '', '', ARGV[2], text)
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return {1, text}`,
);

/**
 * Replaces a session with a tombstone that expires when the session would have, or after the
 * default TTL when it had none. ARGV: default pttl. A tombstone stays as it is.
 */
export const DESTROY = script(
  'destroy',
  `local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'string' then return 0 end
if kind ~= 'hash' and kind ~= 'none' then
  ${FOREIGN}
end
local ttl = -2
if kind == 'hash' then ttl = redis.call('PTTL', KEYS[1]) end
if ttl < 0 then ttl = tonumber(ARGV[1]) elseif ttl < 1 then ttl = 1 end
redis.call('SET', KEYS[1], 'destroyed', 'PX', ttl)
return 1`,
);

/** Sets the TTL of a live session; a tombstone or a missing key stays so. ARGV: pttl. */
export const TOUCH = script(
  'touch',
  `if redis.call('TYPE', KEYS[1])['ok'] == 'hash' then
  return redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 0`,
);
