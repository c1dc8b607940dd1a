-- The next double above x >= 0 (math.nextafter(x, inf)).
local function next_up(x)
  if x == 0 then
    return 4.9406564584124654e-324
  end
  local _, exponent = math.frexp(x)
  local ulp = math.ldexp(1, exponent - 53)
  if ulp == 0 then
    ulp = 4.9406564584124654e-324
  end
  return x + ulp
end
