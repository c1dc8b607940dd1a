-- traffik.strategies.SlidingWindowLog; state (expires_at, t1, c1, ..., tn, cn).
--
-- The log has no fixed size, so it is read here rather than with load_state.
-- struct.unpack returns one Lua value per double and Lua allows a call fewer
-- than 8000 results, so a long log is unpacked in chunks of LOG_CHUNK.
local LOG_CHUNK = 4000
local raw = redis.call('GET', key)
local state = nil
local size = 0
if raw and #raw >= 8 and #raw % 8 == 0 then
  size = #raw / 8
  local count = math.min(size, LOG_CHUNK)
  state = { struct.unpack('<' .. string.rep('d', count), raw) }
  local position = state[count + 1]
  state[count + 1] = nil
  while count < size do
    local chunk = math.min(size - count, LOG_CHUNK)
    local values = { struct.unpack('<' .. string.rep('d', chunk), raw, position) }
    position = values[chunk + 1]
    for index = 1, chunk do
      state[count + index] = values[index]
    end
    count = count + chunk
  end
  kept_expiry = state[1]
  if size < 3 or size % 2 == 0 then
    state = nil
  end
end

local first = 2
local used = 0
local logged = nil
if state ~= nil and state[1] > now then
  -- state[1] was computed with the window of the last hit; a rate swapped
  -- for a shorter window can leave every entry expired.
  while first < size and state[first] + expire <= now do
    first = first + 2
  end
  if first < size then
    for index = first + 1, size, 2 do
      used = used + state[index]
    end
    logged = state
  end
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
  store_state('<ddd', now + expire, now, cost)
  return reply(true, 0, available - cost)
end
-- The live entries (doubles first .. size) are kept as the bytes they already
-- are ('c0' packs a whole string) instead of being packed again one by one.
if logged[size - 1] == now then
  store_state('<dc0d', now + expire, raw:sub(first * 8 - 7, size * 8 - 8), logged[size] + cost)
else
  store_state('<dc0dd', now + expire, raw:sub(first * 8 - 7), now, cost)
end
return reply(true, 0, available - cost)
