-- Shared by every strategy script (prepended to each).
--
-- KEYS[1]  the state key
-- ARGV[1]  now in ms, or '' to read the server's TIME
-- ARGV[2]  cost    ARGV[3] rate.limit    ARGV[4] rate.expire (ms)
-- ARGV[5]  '1' to store the new state (hit), '0' to only decide (peek)
-- ARGV[6]  ms every key outlives its state's expiry (see store_state)
-- ARGV[7..] the strategy's own parameters ('' means None)
--
-- State is stored as packed little-endian doubles (exact, and much cheaper
-- than formatting and parsing text); arithmetic below is written in the same
-- order as the pure Python step so both give bit-for-bit the same results.
local key = KEYS[1]
local now = tonumber(ARGV[1])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local cost = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local expire = tonumber(ARGV[4])
local commit = ARGV[5] == '1'
local margin = tonumber(ARGV[6])

-- Expiry (state[1]) of the state the key holds after this call: the loaded
-- one, replaced by the stored one on a hit. The reply reports it as the time
-- until the client's quota is whole again.
local kept_expiry = nil

local function fmt(x)
  return string.format('%.17g', x)
end

-- The stored state as a table of numbers; nil when absent or not in the
-- expected shape (size, or any size when nil), so a foreign value acts as no state.
local function load_state(size)
  local raw = redis.call('GET', key)
  if not raw then
    return nil
  end
  local count = #raw / 8
  if count < 1 or count ~= math.floor(count) or (size ~= nil and count ~= size) then
    return nil
  end
  local state = {}
  local position = 1
  for i = 1, count do
    state[i], position = struct.unpack('<d', raw, position)
  end
  kept_expiry = state[1]
  return state
end

-- Store state with a TTL in whole ms, rounded up and at least 1 (an expiry
-- of 0 would delete it), so the key never disappears before state[1]. With
-- a caller's clock, `margin` keeps it a little longer: strategies ignore a
-- state past state[1] anyway, and a caller whose clock lags Redis's must
-- still find the state until state[1] by its own clock.
local function store_state(state)
  if not commit then
    return
  end
  kept_expiry = state[1]
  local parts = {}
  for i = 1, #state do
    parts[i] = struct.pack('<d', state[i])
  end
  local ttl = math.ceil(state[1] - now)
  if ttl < 1 then
    ttl = 1
  end
  ttl = ttl + margin
  redis.call('SET', key, table.concat(parts), 'PX', string.format('%d', ttl))
end

-- The decision as one line of text, "allowed wait remaining reset [queue_delay]"
-- (one bulk string is much cheaper for clients to parse than an array).
-- Whole numbers print as integers; others with 17 significant digits, which
-- read back as the very same doubles.
local function text(x)
  if x == math.floor(x) and x > -1e14 and x < 1e14 then
    return string.format('%d', x)
  end
  return fmt(x)
end

local function reply(allowed, wait, remaining, queue_delay)
  local reset = 0
  if kept_expiry ~= nil and kept_expiry > now then
    reset = kept_expiry - now
  end
  local line = (allowed and '1 ' or '0 ') .. text(wait) .. ' ' .. text(remaining) .. ' ' .. text(reset)
  if queue_delay ~= nil then
    line = line .. ' ' .. text(queue_delay)
  end
  return line
end

-- Python's float floor division a // b for b > 0 (math.floor(a / b) can
-- differ from it when the quotient rounds up to an integer).
local function floordiv(a, b)
  local mod = math.fmod(a, b)
  local div = (a - mod) / b
  if mod ~= 0 and mod < 0 then
    div = div - 1
  end
  if div == 0 then
    return 0
  end
  local floored = math.floor(div)
  if div - floored > 0.5 then
    floored = floored + 1
  end
  return floored
end

-- The next double above x >= 0 (math.nextafter(x, inf)).
local function next_up(x)
  if x == 0 then
    return 4.9406564584124654e-324
  end
  local _, exponent = math.frexp(x)
  local ulp = math.ldexp(1, exponent - 53)
  if ulp == 0 then
    ulp = 4.9406564584124654e-324
  end
  return x + ulp
end

-- traffik.strategies._support.time_until: a wait w with now + w >= ready.
local function time_until(ready)
  if ready <= now then
    return 0
  end
  local wait = ready - now
  while now + wait < ready do
    wait = next_up(wait)
  end
  return wait
end

-- traffik.strategies._support.whole_units.
local function whole_units(units)
  local whole = math.floor(units + 1e-9)
  if whole > 0 then
    return whole
  end
  return 0
end

-- Python's int(x): truncation toward zero.
local function trunc(x)
  if x < 0 then
    return math.ceil(x)
  end
  return math.floor(x)
end

-- A state's expiry must lie after now, even when now + delay rounds to now.
local function after_now(t)
  if t <= now then
    return next_up(now)
  end
  return t
end

-- traffik.strategies._support.spendable: the largest whole h <= top whose
-- ready time base + ((h - debt) - tokens) * per_unit is <= now.
local function spendable(base, tokens, debt, per_unit, top)
  local units = trunc((now - base) / per_unit + tokens + debt)
  if units > top then
    units = top
  elseif units < 0 then
    units = 0
  end
  while units > 0 and base + ((units - debt) - tokens) * per_unit > now do
    units = units - 1
  end
  while units < top and base + ((units + 1 - debt) - tokens) * per_unit <= now do
    units = units + 1
  end
  return units
end

