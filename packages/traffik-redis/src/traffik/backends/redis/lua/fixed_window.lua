-- traffik.strategies.FixedWindow as a native counter, without the prelude: the
-- cheapest script on the server (no packed state, no SET, no closures).
--
-- KEYS[1]  a hash: field 'e' the window's end (text, written once per window),
--          field 'c' the cost admitted in it (an integer, HINCRBY)
--          ('<ns>:{<key>}:fixed-window:counter': the packed state of earlier
--          versions sat under the bare NAME and is never read)
-- ARGV as in prelude.lua (ARGV[7..] unused).
--
-- (e, c) is the pure step's state (window_end, count). A hit reads both with
-- one HMGET; while the window has not ended an admitted hit is one HINCRBY, a
-- new window one HSET of both fields and a PEXPIRE. Checking before writing
-- means a denied hit writes nothing (no DECRBY to give the cost back), and a
-- window made under another rate runs to its end, as in the pure step.
-- Before Redis 7, effects replication before TIME and any write (see prelude.lua).
if redis.replicate_commands then
  redis.replicate_commands()
end
local now = ARGV[1]
if now == '' then
  local t = redis.call('TIME')
  -- Whole ms: windows are whole ms, so the window is the one of the exact time,
  -- and every number of the reply stays whole (cheap to print).
  local us = t[2] + 0
  now = t[1] * 1000 + (us - us % 1000) / 1000
else
  now = tonumber(now)
end
local key = KEYS[1]
local limit = ARGV[3] + 0
-- pcall: a value of another type under the key (not written by this script) is no state.
local state = redis.pcall('HMGET', key, 'e', 'c')
local window_end, count = tonumber(state[1]), tonumber(state[2])
local live = window_end ~= nil and count ~= nil and window_end > now -- (also sets the reply's reset)
if not live then
  local expire = ARGV[4] + 0
  if now % 1 == 0 and now >= 0 and now < 9007199254740992 then
    -- Python's (now // expire + 1) * expire, exact for whole ms below 2^53.
    window_end = now - math.fmod(now, expire) + expire
  else
    -- Python's float floor division now // expire, inline (helpers/floordiv.lua):
    -- a helper would cost a closure on every call for this rare path.
    local mod = math.fmod(now, expire)
    local div = (now - mod) / expire
    if mod ~= 0 and mod < 0 then
      div = div - 1
    end
    if div == 0 then
      div = 0
    else
      local floored = math.floor(div)
      if div - floored > 0.5 then
        floored = floored + 1
      end
      div = floored
    end
    window_end = (div + 1) * expire
  end
  count = 0
end
local cost = ARGV[2] + 0
-- Not count + cost <= limit: that sum may round down past 2^53.
if cost <= limit - count then
  if cost > 0 then
    if ARGV[5] == '1' then
      if live then
        redis.call('HINCRBY', key, 'c', ARGV[2])
      else
        local tag
        if window_end % 1 == 0 and window_end < 1e15 then
          tag = string.format('%d', window_end)
        else
          tag = string.format('%.17g', window_end)
        end
        -- TTL in whole ms, rounded up, at least 1, plus the clock margin.
        local ttl = math.ceil(window_end - now)
        if ttl < 1 then
          ttl = 1
        end
        if state.err then
          redis.call('DEL', key)
        end
        redis.call('HSET', key, 'e', tag, 'c', ARGV[2])
        redis.call('PEXPIRE', key, string.format('%d', ttl + ARGV[6]))
        live = true
      end
    end
    count = count + cost
  end
  if not live then
    return string.format('1 0 %d 0', limit - count)
  elseif now % 1 == 0 and window_end % 1 == 0 then
    return string.format('1 0 %d %d', limit - count, window_end - now)
  end
  return string.format('1 0 %d %.17g', limit - count, window_end - now)
end
local reset = 0
if live then
  reset = window_end - now
end
if now % 1 == 0 and window_end % 1 == 0 and window_end - now < 1e15 then
  return string.format('0 %d %d %d', window_end - now, limit - count, reset)
end
return string.format('0 %.17g %d %.17g', window_end - now, limit - count, reset)
