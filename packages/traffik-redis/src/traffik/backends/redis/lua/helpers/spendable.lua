-- traffik.strategies._support.spendable: the largest whole h <= top whose
-- ready time base + ((h - debt) - tokens) * per_unit is <= now.
local function spendable(base, tokens, debt, per_unit, top)
  local units = trunc((now - base) / per_unit + tokens + debt)
  if units > top then
    units = top
  elseif units < 0 then
    units = 0
  end
  while units > 0 and base + ((units - debt) - tokens) * per_unit > now do
    units = units - 1
  end
  while units < top and base + ((units + 1 - debt) - tokens) * per_unit <= now do
    units = units + 1
  end
  return units
end
