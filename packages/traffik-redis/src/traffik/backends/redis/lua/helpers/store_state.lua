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
