-- Claims a pending exchange for the one answer it gets (the source's reply or the timeout).
-- Atomic on the exchange's own key, so it also runs on Redis Cluster.
--
-- KEYS[1]  the pending exchange's hash: d = its JSON, s = the source it was forwarded to,
--          c = the claimant that answers it (absent until claimed)
-- ARGV[1]  the claimant: the Kafka record being processed (topic/partition/offset)
-- ARGV[2]  the source answering, or '*' for the deadline (any source)
--
-- Returns
--   {0}     no such exchange (answered and committed, expired, or never forwarded)
--   {1, d}  claimed by ARGV[1], now or earlier (a re-run aborted transaction), with the JSON d
--   {2, c}  claimed by another claimant, c
--   {3}     forwarded to another source than ARGV[2]: never accepted
local d = redis.call('HGET', KEYS[1], 'd')
if not d then return {0} end
if ARGV[2] ~= '*' and redis.call('HGET', KEYS[1], 's') ~= ARGV[2] then return {3} end
local c = redis.call('HGET', KEYS[1], 'c')
if not c then
  redis.call('HSET', KEYS[1], 'c', ARGV[1])
  return {1, d}
end
if c == ARGV[1] then return {1, d} end
return {2, c}
