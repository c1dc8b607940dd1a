-- traffik.strategies.SlidingWindowCounter; state (expires_at, window_start, previous, current).
local expires_at, stored_start, stored_prev, stored_curr = load_state('<dddd')
local start = floordiv(now, expire) * expire
local prev, curr = 0, 0
local live = expires_at ~= nil and expires_at > now
if live then
  prev = stored_prev
  curr = stored_curr
  if stored_start < start then
    prev = curr
    curr = 0
  else
    start = stored_start
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

-- The largest whole cost the step would admit now, checked with ready_at itself
-- (which grows with the cost): a few unit steps from the estimate, then a
-- binary search, as _sliding_window_counter._spendable does.
local function remaining()
  local units = whole_units(limit - prev * (1 - (now - start) / expire) - curr)
  if units > limit then
    units = limit
  end
  for _ = 1, 4 do
    if units > 0 and ready_at(limit - units) > now then
      units = units - 1
    elseif units < limit and ready_at(limit - units - 1) <= now then
      units = units + 1
    else
      return units
    end
  end
  local low, high = 0, limit
  while low < high do
    local middle = low + math.floor((high - low + 1) / 2)
    if ready_at(limit - middle) <= now then
      low = middle
    else
      high = middle - 1
    end
  end
  return low
end

local need = limit - cost
if need < 0 then
  local wait = expire
  if live then
    wait = expires_at - now
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
store_state('<dddd', start + 2 * expire, start, prev, curr)
return reply(true, 0, remaining())
