-- traffik.strategies.FixedWindow; state (window_end, count).
local window_end, count = load_state('<dd')
if window_end == nil or window_end <= now then
  window_end = (floordiv(now, expire) + 1) * expire
  count = 0
end
-- Not count + cost <= limit: that sum may round down past 2^53.
if cost <= limit - count then
  if cost > 0 then
    local used = count + cost
    store_state('<dd', window_end, used)
    return reply(true, 0, limit - used)
  end
  return reply(true, 0, limit - count)
end
return reply(false, window_end - now, limit - count)
