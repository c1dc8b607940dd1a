-- traffik.strategies._support.whole_units.
local function whole_units(units)
  local whole = math.floor(units + 1e-9)
  if whole > 0 then
    return whole
  end
  return 0
end
