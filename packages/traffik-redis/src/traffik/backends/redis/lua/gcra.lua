-- traffik.strategies.GCRA; state (tat, tat).  ARGV[7] burst_tolerance_ms.
local interval = expire / limit
local tolerance = ARGV[7] + interval
local stored = load_state('<dd')
local live = stored ~= nil and stored > now
local tat = now
if live then
  tat = stored
end

-- Whether the step would admit a cost of `units` now (its own expressions).
local function admits(t, is_live, units)
  return units * interval <= tolerance and (not is_live or (t + units * interval) - tolerance <= now)
end

-- The largest whole cost the step would admit now, at most 2^53: a few unit
-- steps from the estimate, then a binary search (as _gcra._spendable does).
local function remaining(t, is_live)
  local units = (now - t + tolerance) / interval
  if units < 9007199254740992 then
    units = trunc(units)
  else
    units = 9007199254740992
  end
  if units < 0 then
    units = 0
  end
  for _ = 1, 4 do
    if units > 0 and not admits(t, is_live, units) then
      units = units - 1
    elseif units < 9007199254740992 and admits(t, is_live, units + 1) then
      units = units + 1
    else
      return units
    end
  end
  local low, high = 0, 9007199254740992
  while low < high do
    local middle = low + math.floor((high - low + 1) / 2)
    if admits(t, is_live, middle) then
      low = middle
    else
      high = middle - 1
    end
  end
  return low
end

if cost * interval > tolerance then
  local wait = expire
  if live then
    wait = tat - now
  end
  return reply(false, wait, remaining(tat, live))
end
if cost == 0 then
  return reply(true, 0, remaining(tat, live))
end
if live then
  local ready = (tat + cost * interval) - tolerance
  if ready > now then
    return reply(false, time_until(ready), remaining(tat, live))
  end
end
tat = after_now(tat + cost * interval)
store_state('<dd', tat, tat)
return reply(true, 0, remaining(tat, true))
