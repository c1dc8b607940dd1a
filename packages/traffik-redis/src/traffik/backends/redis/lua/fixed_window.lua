-- traffik.strategies.FixedWindow as a native counter, without the prelude: the
-- cheapest script on the server (no packed state, no SET, no closures).
--
-- KEYS[1]  a hash with one field per window: the window's end (text) -> the
--          cost admitted in it (an integer, HINCRBY); one field in the steady
--          state ('<ns>:{<key>}:fixed-window:windows': the packed state of earlier
--          versions sat under the bare NAME and is never read)
-- ARGV as in prelude.lua (ARGV[7..] unused); `now` comes from clock.lua, prepended.
--
-- (field, value) is the pure step's state (window_end, count). The window a
-- hit falls in, (now // expire + 1) * expire, names its field, so an admitted
-- hit in the steady state is a single HINCRBY whose reply is the new count:
-- no read before the write. A reply equal to the cost means the field was
-- new (a new window), the rare path: the hash is read whole, so a window made
-- under another rate that has not ended yet keeps counting (as in the pure
-- step; the new field is dropped), and otherwise the ended windows are
-- dropped and the TTL set. A hit the window has no room for gives its cost
-- back (HINCRBY of minus the cost, or HDEL of a field it created), so the
-- stored state stays the pure step's. A peek, a hit of cost 0 and a cost
-- over the limit never write: one HGET.
local key = KEYS[1]
local expire = ARGV[4] + 0
local window_end
if now % 1 == 0 and now >= 0 and now < 9007199254740992 - expire then
  -- Python's (now // expire + 1) * expire. Lua's % is now - floor(now / expire) * expire:
  -- exact here, as the quotient can only round up to a whole number past 2^53 - expire.
  window_end = now - now % expire + expire
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
local field
if window_end % 1 == 0 and window_end < 1e15 and window_end > -1e15 then
  field = string.format('%d', window_end)
else
  field = string.format('%.17g', window_end)
end
local cost = ARGV[2] + 0
local limit = ARGV[3] + 0

if ARGV[5] == '1' and cost > 0 and cost <= limit then
  local count
  if limit + cost < 9007199254740992 then
    -- pcall: a value of another type under the key (not written by this script) is no state.
    count = redis.pcall('HINCRBY', key, field, ARGV[2])
    if type(count) == 'number' and count ~= cost then
      -- The steady state: the window's field was there. Stored counts never
      -- pass the limit, so every number here is exact below 2^53.
      local before = count - cost
      if cost <= limit - before then
        -- Admitted: the hits remaining and the reset as one integer reply,
        -- remaining * (expire + 1) + reset (0 < reset <= expire), which needs no
        -- number printed; a line of text when they do not fit exactly.
        local reset = window_end - now
        local packed = (limit - count) * (expire + 1) + reset
        if reset % 1 == 0 and packed < 9007199254740992 then
          return packed
        end
        return string.format('1 0 %d %.17g', limit - count, reset)
      end
      redis.call('HINCRBY', key, field, -cost)
      if window_end % 1 == 0 and now % 1 == 0 and window_end - now < 1e15 then
        return string.format('0 %d %d %d', window_end - now, limit - before, window_end - now)
      end
      return string.format('0 %.17g %d %.17g', window_end - now, limit - before, window_end - now)
    end
  else
    -- The count after the hit could pass 2^53, where a Lua number is no longer
    -- exact: read first (a stored count never passes the limit), write if admitted.
    local stored = redis.pcall('HGET', key, field)
    local before = nil
    if type(stored) == 'string' then
      before = tonumber(stored)
    end
    if before ~= nil then
      if cost <= limit - before then
        redis.call('HINCRBY', key, field, ARGV[2])
        return string.format('1 0 %d %.17g', limit - before - cost, window_end - now)
      end
      return string.format('0 %.17g %d %.17g', window_end - now, limit - before, window_end - now)
    end
    count = redis.pcall('HINCRBY', key, field, ARGV[2])
  end
  -- A new field (or not a hash): look for a window that has not ended.
  local fields = redis.pcall('HGETALL', key)
  -- Foreign: the key is not a hash, or a field is not a window (not written by this script).
  local other_end, other_field, other_count = nil, nil, 0
  local foreign = fields.err ~= nil or type(count) ~= 'number'
  if not foreign then
    for index = 1, #fields, 2 do
      local name = fields[index]
      if name ~= field then
        local ends, counted = tonumber(name), tonumber(fields[index + 1])
        if ends == nil or counted == nil then
          foreign = true
        elseif ends > now then
          other_end, other_field, other_count = ends, name, counted
        end
      end
    end
  end
  if other_end ~= nil then
    -- A window made under another rate runs to its end: this hit counts there.
    redis.call('HDEL', key, field)
    if cost <= limit - other_count then
      redis.call('HINCRBY', key, other_field, ARGV[2])
      if now % 1 == 0 and other_end % 1 == 0 then
        return string.format('1 0 %d %d', limit - other_count - cost, other_end - now)
      end
      return string.format('1 0 %d %.17g', limit - other_count - cost, other_end - now)
    end
    if now % 1 == 0 and other_end % 1 == 0 and other_end - now < 1e15 then
      return string.format('0 %d %d %d', other_end - now, limit - other_count, other_end - now)
    end
    return string.format('0 %.17g %d %.17g', other_end - now, limit - other_count, other_end - now)
  end
  -- A new window, and cost <= limit: admitted. Ended windows (and anything
  -- foreign) go; the TTL is set once, in whole ms, rounded up, at least 1,
  -- plus the clock margin.
  if foreign then
    redis.call('DEL', key)
    redis.call('HSET', key, field, ARGV[2])
  elseif #fields > 2 then
    for index = 1, #fields, 2 do
      if fields[index] ~= field then
        redis.call('HDEL', key, fields[index])
      end
    end
  end
  local ttl = math.ceil(window_end - now)
  if ttl < 1 then
    ttl = 1
  end
  redis.call('PEXPIRE', key, string.format('%d', ttl + ARGV[6]))
  if now % 1 == 0 and window_end % 1 == 0 then
    return string.format('1 0 %d %d', limit - cost, window_end - now)
  end
  return string.format('1 0 %d %.17g', limit - cost, window_end - now)
end

-- No write: a peek, a hit of cost 0, or a cost over the limit.
local count = redis.pcall('HGET', key, field)
local live = false
if type(count) == 'string' then
  count = tonumber(count)
  live = count ~= nil
end
if not live then
  -- Not the window of now: perhaps one made under another rate.
  count = 0
  local fields = redis.pcall('HGETALL', key)
  if fields.err == nil then
    for index = 1, #fields, 2 do
      local ends, counted = tonumber(fields[index]), tonumber(fields[index + 1])
      if ends ~= nil and counted ~= nil and ends > now then
        window_end, count, live = ends, counted, true
      end
    end
  end
end
if cost <= limit - count then
  if not live then
    return string.format('1 0 %d 0', limit - count - cost)
  elseif now % 1 == 0 and window_end % 1 == 0 then
    return string.format('1 0 %d %d', limit - count - cost, window_end - now)
  end
  return string.format('1 0 %d %.17g', limit - count - cost, window_end - now)
end
local reset = 0
if live then
  reset = window_end - now
end
if now % 1 == 0 and window_end % 1 == 0 and window_end - now < 1e15 then
  return string.format('0 %d %d %d', window_end - now, limit - count, reset)
end
return string.format('0 %.17g %d %.17g', window_end - now, limit - count, reset)
