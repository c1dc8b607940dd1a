-- traffik.strategies.GCRA; state (tat, tat).  ARGV[7] burst_tolerance_ms.
local interval = expire / limit
local tolerance = ARGV[7] + interval
local stored = load_state('<dd')
local live = stored ~= nil and stored > now
local tat = now
if live then
  tat = stored
end

-- The largest whole cost the step would admit now (the step's own expressions).
local function remaining(t, is_live)
  local units = trunc((now - t + tolerance) / interval)
  if units < 0 then
    units = 0
  end
  while units > 0 and (units * interval > tolerance or (is_live and (t + units * interval) - tolerance > now)) do
    units = units - 1
  end
  while (units + 1) * interval <= tolerance and (not is_live or (t + (units + 1) * interval) - tolerance <= now) do
    units = units + 1
  end
  return units
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
