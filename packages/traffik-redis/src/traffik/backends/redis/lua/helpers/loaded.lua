-- Notes the expiry while passing every unpacked value on: the state is read
-- with one struct.unpack call and no table.
local function loaded(expiry, ...)
  kept_expiry = expiry
  return expiry, ...
end
