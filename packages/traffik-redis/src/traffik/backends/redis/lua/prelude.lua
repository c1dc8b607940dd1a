-- Shared by every strategy script (prepended to each after clock.lua,
-- before the helpers it uses).
--
-- KEYS[1]  the state key
-- ARGV[1]  now in ms, or '' to read the server's TIME (read by clock.lua into `now`)
-- ARGV[2]  cost    ARGV[3] rate.limit    ARGV[4] rate.expire (ms)
-- ARGV[5]  '1' to store the new state (hit), '0' to only decide (peek)
-- ARGV[6]  ms every key outlives its state's expiry (see helpers/store_state.lua)
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
-- the time until the client's quota is whole again. (load_state and
-- store_state, which most strategies use, are helpers: each `local function`
-- here would be a closure made on every call of every script.)
local kept_expiry = nil

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
