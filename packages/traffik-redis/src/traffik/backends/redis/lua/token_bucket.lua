-- traffik.strategies.TokenBucket and TokenBucketWithDebt; state (full_at, tokens, last).
-- ARGV[7] burst_size ('' for rate.limit), ARGV[8] max_debt.
local capacity = tonumber(ARGV[7]) or limit
local debt = tonumber(ARGV[8]) or 0
local top = capacity + debt
local per_token = expire / limit
local full_at, tokens, last = load_state('<ddd')
local live = full_at ~= nil and full_at > now
if not live then
  tokens = capacity
  last = now
end

if cost > top then
  local wait = expire
  if live then
    wait = full_at - now
  end
  return reply(false, wait, spendable(last, tokens, debt, per_token, top))
end
if cost == 0 then
  return reply(true, 0, spendable(last, tokens, debt, per_token, top))
end
local ready = last + ((cost - debt) - tokens) * per_token
if ready > now then
  return reply(false, time_until(ready), spendable(last, tokens, debt, per_token, top))
end
tokens = tokens + (now - last) / per_token
if tokens > capacity then
  tokens = capacity
end
tokens = tokens - cost
if tokens < -debt then
  tokens = -debt
end
store_state('<ddd', after_now(now + (capacity - tokens) * per_token), tokens, now)
return reply(true, 0, spendable(now, tokens, debt, per_token, top))
