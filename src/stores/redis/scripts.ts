/**
 * The Lua scripts of {@link RedisStore}. Each touches exactly one key, `KEYS[1]` (the session's,
 * or a user index's: see the user-index scripts at the end), so each is one round trip, atomic,
 * and single-slot in a Redis Cluster.
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

/*
 * User indexes. One hash per user, `KEYS[1]` (`${prefix}user:${encoded user id}`): a field per
 * indexed session, named by its handle and holding the entry's JSON (written with `expiresAt`
 * first, which the scripts read off the front of the text), and the empty-named field (which no
 * handle can have) holding the revocation mark's JSON, `{"before":..,"expiresAt":..,"spared":..}`.
 * The key lives as long as its longest entry, and as long as its mark while it has one (the TTL
 * is set relative to the caller's clock, so clock skew between the caller and Redis does not
 * matter). ARGV[1] is always the caller's epoch ms. Every script touches this one key.
 */

/** Shared start of the index scripts: the key's type, the clock, and small helpers. */
const USER_PRELUDE = `local key = KEYS[1]
local now = tonumber(ARGV[1])
local kind = redis.call('TYPE', key)['ok']
if kind ~= 'hash' and kind ~= 'none' then
  return redis.error_reply('WRONGTYPE RedisStore: the key holds a ' .. kind .. ', not a user index')
end
local function expiryOf(json)
  local at = string.match(json, '^{"expiresAt":([-+.%deE]+)[,}]')
  return at and tonumber(at)
end
local function liveMark(json)
  if not json then return nil end
  local ok, mark = pcall(cjson.decode, json)
  if ok and type(mark) == 'table' and type(mark.before) == 'number' and type(mark.expiresAt) == 'number' and mark.expiresAt > now then
    return mark
  end
  return nil
end
local function hdel(fields)
  for i = 1, #fields, 200 do
    redis.call('HDEL', key, unpack(fields, i, math.min(i + 199, #fields)))
  end
end
local function keepUntil(at)
  redis.call('PEXPIRE', key, string.format('%d', math.max(1, math.ceil(at - now))))
end
`;

/**
 * Adds or replaces an entry, unless the live mark revokes it. ARGV: now, handle, entry JSON,
 * loggedInAt, expiresAt, most entries. Drops expired entries (and an expired mark), then, past
 * the bound, the other entries that expire first. Reply: 1 written, 0 refused by the mark.
 */
export const USER_INDEX = script(
  'indexSession',
  `${USER_PRELUDE}
local handle = ARGV[2]
local loggedInAt = tonumber(ARGV[4])
local longest = tonumber(ARGV[5])
local most = tonumber(ARGV[6])
local fields = {}
if kind == 'hash' then fields = redis.call('HGETALL', key) end
local markJson = nil
local live, dropped = {}, {}
for i = 1, #fields, 2 do
  local field, value = fields[i], fields[i + 1]
  if field == '' then
    markJson = value
  elseif field ~= handle then
    local at = expiryOf(value)
    if at and at > now then live[#live + 1] = {field, at} else dropped[#dropped + 1] = field end
  end
end
local mark = liveMark(markJson)
if mark and mark.spared ~= handle and loggedInAt < mark.before then return 0 end
if markJson and not mark then dropped[#dropped + 1] = '' end
local excess = #live + 1 - most
if excess > 0 then
  table.sort(live, function(a, b) return a[2] < b[2] or (a[2] == b[2] and a[1] < b[1]) end)
  for i = 1, excess do dropped[#dropped + 1] = live[i][1] end
else
  excess = 0
end
hdel(dropped)
redis.call('HSET', key, handle, ARGV[3])
for i = excess + 1, #live do
  if live[i][2] > longest then longest = live[i][2] end
end
if mark and mark.expiresAt > longest then longest = mark.expiresAt end
keepUntil(longest)
return 1`,
);

/** Takes an entry off (and drops expired ones). ARGV: now, handle. Reply: 1. */
export const USER_UNINDEX = script(
  'unindexSession',
  `${USER_PRELUDE}
if kind == 'none' then return 1 end
local handle = ARGV[2]
local fields = redis.call('HGETALL', key)
local markJson = nil
local longest = nil
local dropped = {}
for i = 1, #fields, 2 do
  local field, value = fields[i], fields[i + 1]
  if field == '' then
    markJson = value
  elseif field == handle then
    dropped[#dropped + 1] = field
  else
    local at = expiryOf(value)
    if at and at > now then
      if not longest or at > longest then longest = at end
    else
      dropped[#dropped + 1] = field
    end
  end
end
local mark = liveMark(markJson)
if markJson and not mark then dropped[#dropped + 1] = '' end
if mark and (not longest or mark.expiresAt > longest) then longest = mark.expiresAt end
if not longest then
  redis.call('DEL', key)
  return 1
end
hdel(dropped)
keepUntil(longest)
return 1`,
);

/** The whole index in one read. Reply: the hash's fields and values, flat (empty when missing). */
export const USER_LOAD = script(
  'userIndex',
  `local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'none' then return {} end
if kind ~= 'hash' then
  return redis.error_reply('WRONGTYPE RedisStore: the key holds a ' .. kind .. ', not a user index')
end
return redis.call('HGETALL', KEYS[1])`,
);

/**
 * The mark only: one `HGET` (as a script, so that it always goes to the master that owns the key,
 * even where a client sends plain reads to replicas). Reply: the mark's JSON, or nil.
 */
export const USER_REVOCATION = script('userRevocation', `return redis.call('HGET', KEYS[1], '')`);

/**
 * Sets the mark and takes every entry off but the spared one. ARGV: now, spared handle (`''` for
 * none), the mark's JSON, the mark's expiry (epoch ms). Reply: the JSON of every live entry taken
 * off.
 */
export const USER_REVOKE = script(
  'revokeUser',
  `${USER_PRELUDE}
local spared = ARGV[2]
local longest = tonumber(ARGV[4])
local fields = {}
if kind == 'hash' then fields = redis.call('HGETALL', key) end
local removed, dropped = {}, {}
for i = 1, #fields, 2 do
  local field, value = fields[i], fields[i + 1]
  if field ~= '' then
    local at = expiryOf(value)
    local live = at and at > now
    if field == spared and live then
      if at > longest then longest = at end
    else
      dropped[#dropped + 1] = field
      if live then removed[#removed + 1] = value end
    end
  end
end
hdel(dropped)
redis.call('HSET', key, '', ARGV[3])
keepUntil(longest)
return removed`,
);
