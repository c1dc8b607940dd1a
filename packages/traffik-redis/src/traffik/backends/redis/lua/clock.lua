-- Shared by every script, first (before the prelude):
-- the time the script decides at.
--
-- ARGV[1]  now in ms, or '' to read the server's TIME
--
-- Before Redis 7 a server may replicate a script verbatim (Redis 4 by
-- default, 5 and 6 with lua-replicate-commands no) and then refuses any
-- write after TIME, a non-deterministic command: asking for effects
-- replication first, before any write, keeps the server-TIME mode working
-- there. Redis 7 only replicates effects and the call is a no-op (it may go
-- in a later version, hence the check).
if redis.replicate_commands then
  redis.replicate_commands()
end
local now = ARGV[1]
if now == '' then
  local t = redis.call('TIME')
  -- Whole ms (arithmetic converts the strings exactly as tonumber would, minus
  -- two calls): windows, resets and TTLs then stay whole, cheap to print, and
  -- the decision is that of a clock read up to 1 ms earlier, whose waits still
  -- end no sooner than the pure step's.
  local us = t[2] + 0
  now = t[1] * 1000 + (us - us % 1000) / 1000
else
  now = tonumber(now)
end
