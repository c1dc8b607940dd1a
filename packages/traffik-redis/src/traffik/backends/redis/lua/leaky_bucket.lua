-- traffik.strategies.LeakyBucket; state (empty_at, level, last).
local per_unit = expire / limit
local state = load_state(3)
local live = state ~= nil and state[1] > now
local level, last = 0, now
if live then
  level = state[2]
  last = state[3]
end
local free = limit - level

if cost > limit then
  local wait = expire
  if live then
    wait = state[1] - now
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
store_state({ after_now(now + level * per_unit), level, now })
return reply(true, 0, spendable(now, limit - level, 0, per_unit, limit))
