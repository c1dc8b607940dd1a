-- traffik.strategies.FixedWindow; state (window_end, count).
local window_end, count = load_state('<dd')
if window_end == nil or window_end <= now then
  window_end = (floordiv(now, expire) + 1) * expire
  count = 0
end
local used = count + cost
if used <= limit then
  if cost > 0 then
    store_state('<dd', window_end, used)
    return reply(true, 0, limit - used)
  end
  return reply(true, 0, limit - count)
end
return reply(false, window_end - now, limit - count)
