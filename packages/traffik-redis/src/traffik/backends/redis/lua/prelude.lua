-- Shared by every strategy script (prepended to each after clock.lua,
-- before the helpers it uses).
--
-- KEYS[1]  the state key
-- ARGV[1]  now in ms, or '' to read the server's TIME (read by clock.lua into `now`)
-- ARGV[2]  cost    ARGV[3] rate.limit    ARGV[4] rate.expire (ms)
-- ARGV[5]  '1' to store the new state (hit), '0' to only decide (peek)
-- ARGV[6]  ms every key outlives its state's expiry (see store_state)
-- ARGV[7..] the strategy's own parameters ('' means None)
--
-- State is stored as packed little-endian doubles (exact, and much cheaper
-- than formatting and parsing text); arithmetic in the strategies is written
-- in the same order as the pure Python step so both give bit-for-bit the
-- same results. This chunk runs on every call, hot path included, so it
-- avoids per-call tables, needless function calls and number-to-text work.
local key = KEYS[1]
-- Always the decimal text of an int (never '' or '-0'): `+ 0` is tonumber without the call.
local cost = ARGV[2] + 0
local limit = ARGV[3] + 0
local expire = ARGV[4] + 0

-- Expiry (first double) of the state the key holds after this call: the
-- loaded one, replaced by the stored one on a hit. The reply reports it as
-- the time until the client's quota is whole again.
local kept_expiry = nil

-- Notes the expiry while passing every unpacked value on: the state is read
-- with one struct.unpack call and no table.
local function loaded(expiry, ...)
  kept_expiry = expiry
  return expiry, ...
end

-- The stored doubles as values, for a struct format such as '<dd'; nothing
-- when the key is absent or holds another size, so a foreign value acts as
-- no state.
local function load_state(format)
  local raw = redis.call('GET', key)
  if raw and #raw == (#format - 1) * 8 then
    -- Also passes on struct.unpack's trailing next-position, which callers ignore.
    return loaded(struct.unpack(format, raw))
  end
end

-- Store the state (expiry first) with a TTL in whole ms, rounded up and at
-- least 1 (an expiry of 0 would delete it), so the key never disappears
-- before its expiry. With a caller's clock, ARGV[6] keeps it a little
-- longer: strategies ignore a state past its expiry anyway, and a caller
-- whose clock lags Redis's must still find the state until then by its own
-- clock. The TTL goes as '%d' text: cheaper than letting Redis print a number.
local function store_state(format, expiry, ...)
  if ARGV[5] ~= '1' then
    return
  end
  kept_expiry = expiry
  local ttl = math.ceil(expiry - now)
  if ttl < 1 then
    ttl = 1
  end
  redis.call('SET', key, struct.pack(format, expiry, ...), 'PX', string.format('%d', ttl + ARGV[6]))
end

-- How reply prints x: whole numbers as integers, others with 17 significant
-- digits, which read back as the very same doubles. ('%d' also prints -0 as 0.)
local function text_format(x)
  if x % 1 == 0 and x < 1e14 and x > -1e14 then
    return '%d'
  end
  return '%.17g'
end

-- The decision as one line of text, "allowed wait remaining reset [queue_delay]"
-- (one bulk string is much cheaper for clients to parse than an array),
-- built by a single string.format: per-number formatting or Lua's own
-- number-to-text conversion (sprintf '%.14g') costs about twice as much.
local function reply(allowed, wait, remaining, queue_delay)
  local reset = 0
  if kept_expiry ~= nil and kept_expiry > now then
    reset = kept_expiry - now
  end
  if queue_delay == nil and wait % 1 == 0 and remaining % 1 == 0 and reset % 1 == 0
    and wait < 1e14 and remaining < 1e14 and remaining > -1e14 and reset < 1e14 then
    -- All whole (the common case): a constant pattern, no text_format calls or concatenation.
    return string.format(allowed and '1 %d %d %d' or '0 %d %d %d', wait, remaining, reset)
  end
  local pattern = (allowed and '1 ' or '0 ')
    .. text_format(wait) .. ' ' .. text_format(remaining) .. ' ' .. text_format(reset)
  if queue_delay == nil then
    return string.format(pattern, wait, remaining, reset)
  end
  return string.format(pattern .. ' ' .. text_format(queue_delay), wait, remaining, reset, queue_delay)
end
