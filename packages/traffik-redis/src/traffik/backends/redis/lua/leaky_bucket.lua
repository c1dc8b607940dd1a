-- traffik.strategies.LeakyBucket; state (empty_at, level, last).
local per_unit = expire / limit
local empty_at, level, last = load_state('<ddd')
local live = empty_at ~= nil and empty_at > now
if not live then
  level = 0
  last = now
end
local free = limit - level

if cost > limit then
  local wait = expire
  if live then
    wait = empty_at - now
  end
  return reply(false, wait, spendable(last, free, 0, per_unit, limit))
end
if cost == 0 then
  return reply(true, 0, spendable(last, free, 0, per_unit, limit))
end
local ready = last + (cost - free) * per_unit
if ready > now then
  return reply(false, time_until(ready), spendable(last, free, 0, per_unit, limit))
end
level = level - (now - last) / per_unit
if level < 0 then
  level = 0
end
level = level + cost
if level > limit then
  level = limit
end
store_state('<ddd', after_now(now + level * per_unit), level, now)
return reply(true, 0, spendable(now, limit - level, 0, per_unit, limit))
