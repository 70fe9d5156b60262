"""The Lua scripts behind RedisStore's read-then-write operations, run atomically by Redis.

Each gives "TTL only when the key is new" exactly, as MemoryStore does, on any Redis >= 2.6.
"""

# The numeric writes carry a write token (state/oplog.py): ARGV[1] the slot in the worker's
# ring ('' = no token), ARGV[2] the write's seq, ARGV[3] the ring's TTL in ms; the ring is the
# last of KEYS. A write whose seq is already in its slot was applied: it is not applied again.
_RING = """
local ring = nil
local n = #KEYS
if ARGV[1] ~= '' then
  ring = KEYS[n]
  n = n - 1
end
"""
_APPLIED = "ring and redis.call('HGET', ring, ARGV[1]) == ARGV[2]"
_RECORD = """
if ring then
  redis.call('HSET', ring, ARGV[1], ARGV[2])
  redis.call('PEXPIRE', ring, ARGV[3])
end
"""

# KEYS[1]: the key; ARGV[4]: amount; ARGV[5]: TTL in ms ('0' = none). Returns the new value.
INCR = (
    _RING
    + f"""
if {_APPLIED} then
  return redis.call('GET', KEYS[1]) or '0'
end
local existed = redis.call('EXISTS', KEYS[1])
local value = redis.call('INCRBYFLOAT', KEYS[1], ARGV[4])
if existed == 0 and ARGV[5] ~= '0' then
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
"""
    + _RECORD
    + "return value\n"
)

# KEYS[1..n]: the keys; ARGV[4]: amount; ARGV[5]: TTL in ms ('0' = none); ARGV[5 + i]: limit
# of KEYS[i] ('inf' = unlimited). Returns the first refusing key, or nil after adding to all.
RESERVE = (
    _RING
    + f"""
if {_APPLIED} then
  return false
end
local amount = tonumber(ARGV[4])
for i = 1, n do
  local limit = ARGV[i + 5]
  if limit ~= 'inf' then
    local current = tonumber(redis.call('GET', KEYS[i]) or '0')
    if current + amount > tonumber(limit) + 1e-12 then
      return KEYS[i]
    end
  end
end
for i = 1, n do
  local existed = redis.call('EXISTS', KEYS[i])
  redis.call('INCRBYFLOAT', KEYS[i], ARGV[4])
  if existed == 0 and ARGV[5] ~= '0' then
    redis.call('PEXPIRE', KEYS[i], ARGV[5])
  end
end
"""
    + _RECORD
    + "return false\n"
)

# KEYS[1]: the hash; ARGV[4]: TTL in ms ('0' = none); ARGV[5], ARGV[6], ...: field, amount.
HINCR = (
    _RING
    + f"""
if {_APPLIED} then
  return 0
end
local existed = redis.call('EXISTS', KEYS[1])
for i = 5, #ARGV, 2 do
  redis.call('HINCRBYFLOAT', KEYS[1], ARGV[i], ARGV[i + 1])
end
if existed == 0 and ARGV[4] ~= '0' then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
"""
    + _RECORD
    + "return 1\n"
)

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
