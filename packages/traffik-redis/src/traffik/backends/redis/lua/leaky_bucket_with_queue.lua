-- traffik.strategies.LeakyBucketWithQueue; state (next_free, next_free).
local per_unit = expire / limit
local stored = load_state('<dd')
local start = now
if stored ~= nil and stored > now then
  start = stored
end

if cost > limit then
  local wait = expire
  if start > now then
    wait = start - now
  end
  return reply(false, wait, spendable(start, limit, 0, per_unit, limit))
end
if cost == 0 then
  return reply(true, 0, spendable(start, limit, 0, per_unit, limit))
end
local ready = start + (cost - limit) * per_unit
if ready > now then
  return reply(false, time_until(ready), spendable(start, limit, 0, per_unit, limit))
end
local next_free = after_now(start + cost * per_unit)
store_state('<dd', next_free, next_free)
return reply(true, 0, spendable(next_free, limit, 0, per_unit, limit), start - now)
