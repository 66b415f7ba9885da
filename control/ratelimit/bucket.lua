-- Token buckets for Portcullis' global rate limits, counted atomically: Redis runs the whole
-- script without interleaving another command, so no read-modify-write can be lost.
--
-- KEYS: one bucket per descriptor. ARGV[1]: now in ms ("0": use the Redis server's clock, the
-- one clock every replica of the service shares). Then per key: the period in ms (one token
-- is that many units), the rate (units refilled per ms), the burst (tokens), the hits.
--
-- A bucket is a hash {l = level in units, t = ms of l}. Levels are integers below 2^53, so
-- Lua's doubles keep them exact (burst ≤ 1e6, period ≤ 3.6e6 ms). Either every bucket has
-- the hits and each gives them, or none gives anything. A bucket expires once it would be full
-- again (a full bucket and a missing one are the same), so Redis holds only active buckets.
--
-- Returns {allowed (1/0), then per key: whole tokens left, ms until one more token, ms until
-- full}.
local now = tonumber(ARGV[1])
if now == 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local n = #KEYS
local level, at, per, rate, cap, hits = {}, {}, {}, {}, {}, {}
local allowed = 1
for i = 1, n do
  local a = 2 + (i - 1) * 4
  per[i], rate[i], hits[i] = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 3])
  cap[i] = tonumber(ARGV[a + 2]) * per[i]
  local v = redis.call('HMGET', KEYS[i], 'l', 't')
  local l, t = cap[i], now
  if v[1] then
    l, t = tonumber(v[1]), tonumber(v[2])
  end
  if l > cap[i] then l = cap[i] end
  -- A clock that went back mints nothing, and the bucket keeps its later time.
  if now > t then
    l = math.min(cap[i], l + (now - t) * rate[i])
    t = now
  end
  level[i], at[i] = l, t
  if l < hits[i] * per[i] then allowed = 0 end
end
local out = {allowed}
for i = 1, n do
  local l = level[i]
  if allowed == 1 then
    l = l - hits[i] * per[i]
    local full = math.ceil((cap[i] - l) / rate[i])
    redis.call('HSET', KEYS[i], 'l', l, 't', at[i])
    redis.call('PEXPIRE', KEYS[i], full + 1000)
  end
  local untilToken = 0
  if l < per[i] then untilToken = math.ceil((per[i] - l) / rate[i]) end
  out[#out + 1] = math.floor(l / per[i])
  out[#out + 1] = untilToken
  out[#out + 1] = math.ceil((cap[i] - l) / rate[i])
end
return out
