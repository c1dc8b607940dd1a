-- A state's expiry must lie after now, even when now + delay rounds to now.
local function after_now(t)
  if t <= now then
    return next_up(now)
  end
  return t
end
