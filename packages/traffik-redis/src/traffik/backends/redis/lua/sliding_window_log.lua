-- traffik.strategies.SlidingWindowLog, on a Redis list whose cost per hit does
-- not grow with the log: the same decisions as the pure step, whose state
-- (expires_at, t1, c1, ..., tn, cn) is kept as
--
--   index 0      '<dddd' expire, base, S_1, M_1   (32 bytes)
--   index 1..n   '<ddd'  t_i, S_i, M_i            (24 bytes per entry)
--
-- S_i = base + c_1 + ... + c_i is a running total, so the cost of any run of
-- entries is a difference of two totals (whole numbers, exact below 2^53),
-- and M_i = max(t_1, ..., t_i). The pure step skips entries from the oldest
-- while t + expire <= now; that passes entry i exactly when M_i + expire <= now
-- (float addition is monotone), and M never decreases along the list, so the
-- first live entry is found by a galloping then a binary search (an index past
-- the end reads as live: the newest entry is), as is the entry a denied hit
-- waits for (the first whose total reaches the excess). M is a maximum over
-- the kept entries only: every dropped entry's time is below the first kept
-- one's, or the walk would have stopped earlier.
--
-- expire is the window of the last admitted hit: the pure step's expires_at is
-- that hit's now + expire, and that now is t_n (appended, or merged into the
-- newest entry when equal), so expires_at = t_n + expire, the same double.
-- S_1 and M_1 copy the oldest entry's, which change only when entries are
-- dropped, or when a hit merges into the oldest entry (then the only one: S
-- grows strictly along the list, so S_n == S_1 tells). So an admitted hit in a
-- live log that drops nothing reads the head and the newest entry and writes
-- the newest entry alone (RPUSH, or LSET -1 to merge); one that drops entries
-- also reads O(log n) of them, LTRIMs them with the head and LPUSHes a new head.
-- (traffik-redis 2.0 kept a 16-byte head, '<dd' expires_at, base, rewritten on
-- every hit, at a key without the ':2' this layout's key ends in: see _scripts.py.)
local TOTAL_MAX = 9007199254740992 -- 2^53: totals above it would not be exact
local HEAD = '<dddd'

local foreign = false -- the key holds something else: replaced on the next admitted hit

-- Entry `index` of the list: t, S, M; nothing past the end, or when malformed
-- (which makes the key foreign). The hot path passes the index as text: Redis
-- prints a number argument with '%.17g', a good part of a LINDEX's cost.
local function entry(index)
  local raw = redis.call('LINDEX', key, index)
  if raw then
    if #raw == 24 then
      return struct.unpack('<ddd', raw)
    end
    foreign = true
  end
end

local expires_at, base = nil, 0
local head_expire -- the window the head holds
local head_s, head_m -- S_1 and M_1
local last_t, last_s, last_m
local head = redis.pcall('LINDEX', key, '0')
if type(head) == 'table' then
  foreign = true -- not a list (a value of another kind)
elseif head then
  local size = #head
  if size == 32 then
    head_expire, base, head_s, head_m = struct.unpack(HEAD, head)
    last_t, last_s, last_m = entry('-1') -- the head itself when it is alone: foreign
    if not foreign then
      expires_at = last_t + head_expire
      kept_expiry = expires_at
    end
  else
    foreign = true
  end
end

local live = false -- some entry still counts (the pure step's `logged`)
local first = 1 -- index of the oldest entry that counts
local used = 0
if expires_at ~= nil and expires_at > now then
  if last_m + expire > now then -- (expires_at is set only from a head and an entry both read)
    live = true
    if head_m + expire <= now then
      -- Some of the oldest have expired: the first live one lies in (dead, live_at].
      local dead, live_at, step = 1, nil, 1
      base = head_s
      while true do
        local _, s, m = entry(dead + step)
        if foreign then
          break
        end
        if m == nil or m + expire > now then
          live_at, head_s, head_m = dead + step, s, m
          break
        end
        dead, base, step = dead + step, s, step * 2
      end
      while not foreign and live_at - dead > 1 do
        local middle = dead + math.floor((live_at - dead) / 2)
        local _, s, m = entry(middle)
        if m == nil or m + expire > now then
          live_at, head_s, head_m = middle, s, m
        else
          dead, base = middle, s
        end
      end
      first = live_at
      -- (live_at is an entry here: the newest is live, so an index past the end never stays.)
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
  local below, reached, reached_t = first - 1, redis.call('LLEN', key) - 1, last_t
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
  redis.call('RPUSH', key, struct.pack(HEAD, expire, 0, cost, now), struct.pack('<ddd', now, cost, now))
else
  local push_head = first > 1
  if last_s > TOTAL_MAX - cost then
    -- The running total would leave the exact range: restart it from 0 for the
    -- live entries (once in 2^53 admitted cost units, minus the limit).
    local kept = redis.call('LRANGE', key, first, -1)
    redis.call('DEL', key)
    for index = 1, #kept, 1000 do
      local packed = {}
      for offset = index, math.min(index + 999, #kept) do
        local t, s, m = struct.unpack('<ddd', kept[offset])
        packed[#packed + 1] = struct.pack('<ddd', t, s - base, m)
      end
      redis.call('RPUSH', key, unpack(packed))
    end
    last_s, head_s, base, push_head = last_s - base, head_s - base, 0, true
  elseif push_head then
    redis.call('LTRIM', key, first, -1) -- the head and the dropped entries
  end
  local total = last_s + cost
  if last_t == now then
    redis.call('LSET', key, -1, struct.pack('<ddd', now, total, last_m))
    if head_s == last_s then
      head_s, head_expire = total, nil -- merged into the oldest entry: the head follows
    end
  else
    if now > last_m then
      last_m = now
    end
    redis.call('RPUSH', key, struct.pack('<ddd', now, total, last_m))
  end
  if push_head then
    redis.call('LPUSH', key, struct.pack(HEAD, expire, base, head_s, head_m))
  elseif head_expire ~= expire then
    redis.call('LSET', key, 0, struct.pack(HEAD, expire, base, head_s, head_m))
  end
end
local ttl = math.ceil(kept_expiry - now)
if kept_expiry - now == expire and ARGV[6] == '0' then
  -- The common case on the server's clock (whole ms): the TTL and the reset
  -- are the window, whose text ARGV[4] already is; the remaining cost is a
  -- whole number below 2^53, which '%d' prints as reply would. So this is
  -- reply(true, 0, available - cost) less most of its number-to-text work.
  redis.call('PEXPIRE', key, ARGV[4])
  return string.format('1 0 %d ', available - cost) .. ARGV[4]
end
if ttl < 1 then
  ttl = 1
end
redis.call('PEXPIRE', key, string.format('%d', ttl + ARGV[6]))
return reply(true, 0, available - cost)
