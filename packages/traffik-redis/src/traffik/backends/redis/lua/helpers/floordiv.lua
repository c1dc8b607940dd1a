-- Python's float floor division a // b for b > 0 (math.floor(a / b) can
-- differ from it when the quotient rounds up to an integer).
local function floordiv(a, b)
  local mod = math.fmod(a, b)
  local div = (a - mod) / b
  if mod ~= 0 and mod < 0 then
    div = div - 1
  end
  if div == 0 then
    return 0
  end
  local floored = math.floor(div)
  if div - floored > 0.5 then
    floored = floored + 1
  end
  return floored
end
