-- Records one pending exchange with its time to live, in one call (instead of HSET then PEXPIRE).
-- One key, so it also runs on Redis Cluster; the deadline index is written apart, once per chunk.
--
-- KEYS[1]  the pending exchange's hash (see claim-pending.lua for its fields)
-- ARGV[1]  d: the exchange as stored
-- ARGV[2]  s: the source it is forwarded to
-- ARGV[3]  its time to live, in milliseconds
--
-- Returns 1.
redis.call('HSET', KEYS[1], 'd', ARGV[1], 's', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
