-- traffik.strategies.SlidingWindowLog; state (expires_at, t1, c1, ..., tn, cn).
local state = load_state(nil)
if state ~= nil and (#state < 3 or #state % 2 == 0) then
  state = nil
end
local first = 2
local used = 0
local logged = nil
if state ~= nil and state[1] > now then
  while state[first] + expire <= now do
    first = first + 2
  end
  for index = first + 1, #state, 2 do
    used = used + state[index]
  end
  logged = state
end
local available = limit - used
if cost > available then
  if logged == nil or cost > limit then
    local wait = expire
    if logged ~= nil then
      wait = logged[1] - now
    end
    return reply(false, wait, available)
  end
  local excess = cost - available
  local index = first
  while true do
    excess = excess - logged[index + 1]
    if excess <= 0 then
      break
    end
    index = index + 2
  end
  return reply(false, time_until(logged[index] + expire), available)
end
if cost == 0 then
  return reply(true, 0, available)
end
if logged == nil then
  store_state({ now + expire, now, cost })
  return reply(true, 0, available - cost)
end
local new_state = { now + expire }
local size = #logged
if logged[size - 1] == now then
  for index = first, size - 1 do
    new_state[#new_state + 1] = logged[index]
  end
  new_state[#new_state + 1] = logged[size] + cost
else
  for index = first, size do
    new_state[#new_state + 1] = logged[index]
  end
  new_state[#new_state + 1] = now
  new_state[#new_state + 1] = cost
end
store_state(new_state)
return reply(true, 0, available - cost)
