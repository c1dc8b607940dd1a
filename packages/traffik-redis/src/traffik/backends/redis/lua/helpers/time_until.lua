-- traffik.strategies._support.time_until: a wait w with now + w >= ready
-- (one or two ulps are ever added; 64 bounds the loop for certain).
local function time_until(ready)
  if ready <= now then
    return 0
  end
  local wait = ready - now
  for _ = 1, 64 do
    if now + wait >= ready then
      break
    end
    wait = next_up(wait)
  end
  return wait
end
