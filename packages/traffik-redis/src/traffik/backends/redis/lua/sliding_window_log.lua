-- traffik.strategies.SlidingWindowLog, on a Redis list whose cost per hit does
-- not grow with the log: the same decisions as the pure step, whose state
-- (expires_at, t1, c1, ..., tn, cn) is kept as
--
--   index 0      '<dddx' expire, base, M_1   (25 bytes)
--   index 1..n   '<ddd'  t_i, S_i, M_i       (24 bytes per entry)
--
-- expire is the window of the last admitted hit: the pure step's expires_at is
-- that hit's now + expire, and its now is t_n (appended, or merged into the
-- newest entry when equal), so expires_at = t_n + expire, the same double.
-- M_1 is a copy of the oldest entry's, which changes only when entries are
-- dropped (a merge keeps M). So the head changes only when its window does or
-- entries are dropped: an admitted hit in a live log that drops nothing
-- reads the head and the newest entry and writes the newest entry only.
-- (An earlier version kept '<dd' expires_at, base, rewritten on every hit: such
-- a head is read as it is, and replaced by the next admitted hit.)
--
-- S_i = base + c_1 + ... + c_i is a running total, so the cost of any run of
-- entries is a difference of two totals (whole numbers, exact below 2^53),
-- and M_i = max(t_1, ..., t_i). The pure step skips entries from the oldest
-- while t + expire <= now; that passes entry i exactly when M_i + expire <= now
-- (float addition is monotone), and M never decreases along the list, so the
-- first live entry is found by a binary search, as is the entry a denied hit
-- waits for (the first whose total reaches the excess). An admitted hit drops
-- the skipped entries (LTRIM), rewrites the head if needed and appends or
-- merges one entry: a few O(1) commands, replicated as such. A hit reads O(log n)
-- entries at most, and the newest one only in the steady state (the oldest is live).
-- M is a maximum over the kept entries only: every dropped entry's time is
-- below the first kept one's, or the walk would have stopped earlier.
local TOTAL_MAX = 9007199254740992 -- 2^53: totals above it would not be exact
local HEAD = '<dddx' -- 25 bytes: never an entry (24) nor an earlier version's head (16)

local foreign = false -- the key holds something else: replaced on the next admitted hit

-- Entry `index` of the list: t, S, M (nothing when malformed, which makes the key foreign).
local function entry(index)
  local raw = redis.call('LINDEX', key, index)
  if raw and #raw == 24 then
    return struct.unpack('<ddd', raw)
  end
  foreign = true
end

local expires_at, base = nil, 0
local head_expire = nil -- the window the head holds (nil: an earlier version's head, or none)
local head_m -- M_1
local last_t, last_s, last_m
local head = redis.pcall('LINDEX', key, 0)
if type(head) == 'table' then
  foreign = true -- not a list (a value of another kind)
elseif head then
  local size = #head
  if size == 25 then
    head_expire, base, head_m = struct.unpack(HEAD, head)
    last_t, last_s, last_m = entry(-1) -- the head itself when it is alone: foreign
    if not foreign then
      expires_at = last_t + head_expire
      kept_expiry = expires_at
    end
  elseif size == 16 then
    expires_at, base = struct.unpack('<dd', head)
    kept_expiry = expires_at
  else
    foreign = true
  end
end

local live = false -- some entry still counts (the pure step's `logged`)
local size = 0 -- entries in the list, head excluded (read only when needed)
local first = 1 -- index of the oldest entry that counts
local oldest_m -- M of the oldest entry kept (the head's copy of M_1 after a hit)
local used = 0
if expires_at ~= nil and expires_at > now then
  if head_m == nil then
    -- An earlier version's head: read the newest entry, and the oldest for its M
    -- (a head alone, which that version never left, is no log).
    local newest = redis.call('LINDEX', key, -1)
    if newest and #newest == 24 then
      last_t, last_s, last_m = struct.unpack('<ddd', newest)
      head_m = select(3, entry(1))
    end
  end
  if last_t ~= nil and not foreign and last_m + expire > now then
    live = true
    oldest_m = head_m
    if head_m + expire <= now then
      -- Some of the oldest have expired: the first live one lies in (dead, live].
      size = redis.call('LLEN', key) - 1
      local dead, live_at, step = 1, size, 1
      oldest_m = last_m
      base = select(2, entry(1))
      while not foreign and dead + step < live_at do
        local _, s, m = entry(dead + step)
        if foreign then
          break
        end
        if m + expire > now then
          live_at, oldest_m = dead + step, m
          break
        end
        dead, base, step = dead + step, s, step * 2
      end
      while not foreign and live_at - dead > 1 do
        local middle = dead + math.floor((live_at - dead) / 2)
        local _, s, m = entry(middle)
        if m ~= nil and m + expire > now then
          live_at, oldest_m = middle, m
        else
          dead, base = middle, s
        end
      end
      first = live_at
    end
    if not foreign then
      used = last_s - base
    end
  end
end
if foreign then
  live, used, kept_expiry = false, 0, nil
end

local available = limit - used
if cost > available then
  if not live or cost > limit then
    local wait = expire
    if live then
      wait = expires_at - now
    end
    return reply(false, wait, available)
  end
  -- The oldest entry whose total since `base` reaches cost - available: the
  -- walk's sum of costs then covers the excess. The newest one always does.
  local target = base + (cost - available)
  if size == 0 then
    size = redis.call('LLEN', key) - 1
  end
  local below, reached, reached_t = first - 1, size, last_t
  while reached - below > 1 do
    local middle = below + math.floor((reached - below) / 2)
    local t, s = entry(middle)
    if s ~= nil and s >= target then
      reached, reached_t = middle, t
    else
      below = middle
    end
  end
  return reply(false, time_until(reached_t + expire), available)
end
if cost == 0 or ARGV[5] ~= '1' then
  return reply(true, 0, available - cost) -- a peek, or a hit of 0: nothing is written
end

kept_expiry = now + expire
if not live then
  if head then
    redis.call('DEL', key) -- an expired log, or a value that is not one
  end
  redis.call('RPUSH', key, struct.pack(HEAD, expire, 0, now), struct.pack('<ddd', now, cost, now))
  oldest_m = now
else
  if last_s > TOTAL_MAX - cost then
    -- The running total would leave the exact range: restart it from 0 for the
    -- live entries (once in 2^53 admitted cost units, minus the limit).
    local kept = redis.call('LRANGE', key, first, -1)
    redis.call('DEL', key)
    redis.call('RPUSH', key, struct.pack(HEAD, expire, 0, oldest_m))
    for index = 1, #kept, 1000 do
      local packed = {}
      for offset = index, math.min(index + 999, #kept) do
        local t, s, m = struct.unpack('<ddd', kept[offset])
        packed[#packed + 1] = struct.pack('<ddd', t, s - base, m)
      end
      redis.call('RPUSH', key, unpack(packed))
    end
    last_s, base, first = last_s - base, 0, 1
  elseif first > 1 then
    -- The head and the skipped entries go in one LTRIM; the new head is pushed back.
    redis.call('LTRIM', key, first, -1)
    redis.call('LPUSH', key, struct.pack(HEAD, expire, base, oldest_m))
  elseif head_expire ~= expire then
    redis.call('LSET', key, 0, struct.pack(HEAD, expire, base, oldest_m))
  end
  if last_t == now then
    redis.call('LSET', key, -1, struct.pack('<ddd', now, last_s + cost, last_m))
  else
    if now > last_m then
      last_m = now
    end
    redis.call('RPUSH', key, struct.pack('<ddd', now, last_s + cost, last_m))
  end
end
local ttl = math.ceil(kept_expiry - now)
if ttl < 1 then
  ttl = 1
end
redis.call('PEXPIRE', key, string.format('%d', ttl + ARGV[6]))
return reply(true, 0, available - cost)
