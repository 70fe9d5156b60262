"""The Lua scripts behind RedisStore's read-then-write operations, run atomically by Redis.

Each gives "TTL only when the key is new" exactly, as MemoryStore does, on any Redis >= 2.6.
"""

INCR = """
local existed = redis.call('EXISTS', KEYS[1])
local value = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
if existed == 0 and ARGV[2] ~= '0' then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value
"""

# KEYS: the keys; ARGV[1]: amount; ARGV[2]: TTL in ms ('0' = none); ARGV[2 + i]: limit of
# KEYS[i] ('inf' = unlimited). Returns the first refusing key, or nil after adding to all.
RESERVE = """
local amount = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local limit = ARGV[i + 2]
  if limit ~= 'inf' then
    local current = tonumber(redis.call('GET', key) or '0')
    if current + amount > tonumber(limit) + 1e-12 then
      return key
    end
  end
end
for _, key in ipairs(KEYS) do
  local existed = redis.call('EXISTS', key)
  redis.call('INCRBYFLOAT', key, ARGV[1])
  if existed == 0 and ARGV[2] ~= '0' then
    redis.call('PEXPIRE', key, ARGV[2])
  end
end
return false
"""

# ARGV[1]: TTL in ms ('0' = none); ARGV[2], ARGV[3], ...: field, amount pairs.
HINCR = """
local existed = redis.call('EXISTS', KEYS[1])
for i = 2, #ARGV, 2 do
  redis.call('HINCRBYFLOAT', KEYS[1], ARGV[i], ARGV[i + 1])
end
if existed == 0 and ARGV[1] ~= '0' then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 1
"""

# ARGV[1]: '1' if a value is expected, '0' if the key must be absent; ARGV[2]: expected value;
# ARGV[3]: new value; ARGV[4]: TTL in ms ('0' = none). Returns 1 when set, 0 otherwise.
COMPARE_AND_SET = """
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current ~= ARGV[2] then
    return 0
  end
elseif current then
  return 0
end
if ARGV[4] == '0' then
  redis.call('SET', KEYS[1], ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
end
return 1
"""

# KEYS[1]: the window hash (fields 'c' = failure streak, 'l' = bucket of the last failure,
# 'r<bucket>' = requests, 'f<bucket>' = failures); KEYS[2] (optional): a string key read back
# in the same step.
# ARGV[1]: bucket; ARGV[2]: oldest bucket kept; ARGV[3]: '1' failure / '0' success;
# ARGV[4]: TTL in ms. Returns {streak, requests, failures, value of KEYS[2] or false}.
TALLY = """
local rows = redis.call('HGETALL', KEYS[1])
local oldest = tonumber(ARGV[2])
local requests, failures, streak, last = 1, 0, 0, -1
for i = 1, #rows, 2 do
  local field, value = rows[i], tonumber(rows[i + 1])
  if field == 'c' then
    streak = value
  elseif field == 'l' then
    last = value
  elseif tonumber(string.sub(field, 2)) < oldest then
    redis.call('HDEL', KEYS[1], field)
  elseif string.sub(field, 1, 1) == 'r' then
    requests = requests + value
  else
    failures = failures + value
  end
end
if last < oldest then
  streak = 0
end
redis.call('HINCRBY', KEYS[1], 'r' .. ARGV[1], 1)
if ARGV[3] == '1' then
  redis.call('HINCRBY', KEYS[1], 'f' .. ARGV[1], 1)
  streak = streak + 1
  failures = failures + 1
  redis.call('HSET', KEYS[1], 'c', streak, 'l', ARGV[1])
else
  streak = 0
  redis.call('HSET', KEYS[1], 'c', 0)
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local peeked = false
if #KEYS > 1 then
  peeked = redis.call('GET', KEYS[2])
end
return {streak, requests, failures, peeked}
"""
