-- traffik.strategies._support.spendable: the largest whole h <= top (and
-- <= 2^53) whose ready time base + ((h - debt) - tokens) * per_unit is <= now.
-- The ready time grows with h: a few unit steps from the refill estimate,
-- then a binary search, so the loop ends after ~60 rounds whatever the
-- numbers (stepping by one from a far estimate could run for hours, and
-- Redis cannot stop a script once it has written).
local function spendable(base, tokens, debt, per_unit, top)
  if top > 9007199254740992 then
    top = 9007199254740992
  end
  local units = (now - base) / per_unit + tokens + debt
  if units < 9007199254740992 then
    units = trunc(units)
  else
    units = 9007199254740992
  end
  if units > top then
    units = top
  elseif units < 0 then
    units = 0
  end
  for _ = 1, 4 do
    if units > 0 and base + ((units - debt) - tokens) * per_unit > now then
      units = units - 1
    elseif units < top and base + ((units + 1 - debt) - tokens) * per_unit <= now then
      units = units + 1
    else
      return units
    end
  end
  local low, high = 0, top
  while low < high do
    local middle = low + math.floor((high - low + 1) / 2)
    if base + ((middle - debt) - tokens) * per_unit <= now then
      low = middle
    else
      high = middle - 1
    end
  end
  return low
end
