-- traffik.strategies.FixedWindow; state (window_end, count).
local state = load_state(2)
local window_end, count
if state == nil or state[1] <= now then
  window_end = (floordiv(now, expire) + 1) * expire
  count = 0
else
  window_end = state[1]
  count = state[2]
end
local used = count + cost
if used <= limit then
  if cost > 0 then
    store_state({ window_end, used })
    return reply(true, 0, limit - used)
  end
  return reply(true, 0, limit - count)
end
return reply(false, window_end - now, limit - count)
