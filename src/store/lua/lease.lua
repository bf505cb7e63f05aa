-- Takes or renews a lease, so that one process at a time does the work it guards (the timeout sweep).
--
-- KEYS[1]  the lease: a string holding its owner, expiring on its own
-- ARGV[1]  the owner asking
-- ARGV[2]  the lease's time to live, in milliseconds
--
-- Returns
--   1  ARGV[1] holds the lease: it was free or already ARGV[1]'s, and expires ARGV[2] ms from now
--   0  another owner holds it; nothing changed
local holder = redis.call('GET', KEYS[1])
if (not holder) or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
