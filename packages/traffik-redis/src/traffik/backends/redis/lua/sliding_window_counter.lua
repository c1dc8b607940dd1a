-- traffik.strategies.SlidingWindowCounter; state (expires_at, window_start, previous, current).
local state = load_state(4)
local start = floordiv(now, expire) * expire
local prev, curr = 0, 0
local live = state ~= nil and state[1] > now
if live then
  prev = state[3]
  curr = state[4]
  if state[2] < start then
    prev = curr
    curr = 0
  else
    start = state[2]
  end
end

-- When estimate + cost <= limit, with need = limit - cost >= 0.
local function ready_at(need)
  if curr <= need then
    if prev <= need - curr then
      return -math.huge
    end
    return start + expire * (1 - (need - curr) / prev)
  end
  return (start + expire) + expire * (1 - need / curr)
end

-- The largest whole cost the step would admit now, checked with ready_at itself.
local function remaining()
  local units = whole_units(limit - prev * (1 - (now - start) / expire) - curr)
  if units > limit then
    units = limit
  end
  while units > 0 and ready_at(limit - units) > now do
    units = units - 1
  end
  while units < limit and ready_at(limit - units - 1) <= now do
    units = units + 1
  end
  return units
end

local need = limit - cost
if need < 0 then
  local wait = expire
  if live then
    wait = state[1] - now
  end
  return reply(false, wait, remaining())
end
if cost == 0 then
  return reply(true, 0, remaining())
end
local ready = ready_at(need)
if ready > now then
  return reply(false, time_until(ready), remaining())
end
curr = curr + cost
store_state({ start + 2 * expire, start, prev, curr })
return reply(true, 0, remaining())
