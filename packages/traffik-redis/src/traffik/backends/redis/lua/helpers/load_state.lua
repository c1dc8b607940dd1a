-- The stored doubles as values, for a struct format such as '<dd'; nothing
-- when the key is absent or holds another size, so a foreign value acts as
-- no state.
local function load_state(format)
  local raw = redis.call('GET', key)
  if raw and #raw == (#format - 1) * 8 then
    -- Also passes on struct.unpack's trailing next-position, which callers ignore.
    return loaded(struct.unpack(format, raw))
  end
end
