-- traffik.strategies._support.time_until: a wait w with now + w >= ready.
local function time_until(ready)
  if ready <= now then
    return 0
  end
  local wait = ready - now
  while now + wait < ready do
    wait = next_up(wait)
  end
  return wait
end
