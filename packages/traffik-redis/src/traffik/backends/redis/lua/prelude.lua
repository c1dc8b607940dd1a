-- Shared by every strategy script (prepended to each).
--
-- KEYS[1]  the state key
-- ARGV[1]  now in ms, or '' to read the server's TIME
-- ARGV[2]  cost    ARGV[3] rate.limit    ARGV[4] rate.expire (ms)
-- ARGV[5]  '1' to store the new state (hit), '0' to only decide (peek)
-- ARGV[6]  ms every key outlives its state's expiry (see store_state)
-- ARGV[7..] the strategy's own parameters ('' means None)
--
-- State is stored as one string of numbers printed with 17 significant
-- digits, which read back as the very same doubles; arithmetic below is
-- written in the same order as the pure Python step so both give
-- bit-for-bit the same results.
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

local function fmt(x)
  return string.format('%.17g', x)
end

-- The stored state as a table of numbers; nil when absent or not in the
-- expected shape (size), so a corrupt value acts as no state.
local function load_state(size)
  local raw = redis.call('GET', key)
  if not raw then
    return nil
  end
  local state = {}
  for part in string.gmatch(raw, '[^,]+') do
    local value = tonumber(part)
    if value == nil then
      return nil
    end
    state[#state + 1] = value
  end
  if size ~= nil and #state ~= size then
    return nil
  end
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
  local parts = {}
  for i = 1, #state do
    parts[i] = fmt(state[i])
  end
  local ttl = math.ceil(state[1] - now)
  if ttl < 1 then
    ttl = 1
  end
  ttl = ttl + margin
  redis.call('SET', key, table.concat(parts, ','), 'PX', string.format('%d', ttl))
end

local function reply(allowed, wait, remaining, queue_delay)
  local result = { allowed and 1 or 0, fmt(wait), fmt(remaining) }
  if queue_delay ~= nil then
    result[4] = fmt(queue_delay)
  end
  return result
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

