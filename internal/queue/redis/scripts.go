package redis

import goredis "github.com/redis/go-redis/v9"

// The scripts below touch the job hash named from the stream entry, a key
// not passed in KEYS; that is fine on a single Redis server, which is what
// the queue supports (not Redis Cluster).

// enqueueScript adds a job: KEYS stream, job hash, arches set; ARGV group,
// job ID, sealed payload. An older entry of the same job is dropped, so that
// enqueueing a job again never leaves two entries.
var enqueueScript = goredis.NewScript(`
pcall(redis.call, 'XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
local old = redis.call('HMGET', KEYS[2], 'stream', 'entry')
if old[1] and old[2] then
  redis.call('XACK', old[1], ARGV[1], old[2])
  redis.call('XDEL', old[1], old[2])
end
local id = redis.call('XADD', KEYS[1], '*', 'job', ARGV[2])
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'sealed', ARGV[3], 'stream', KEYS[1], 'entry', id)
redis.call('SADD', KEYS[3], KEYS[1])
return id
`)

// bindScript records that a runner read an entry: KEYS stream, job hash;
// ARGV group, runner, entry ID. It returns the sealed payload, or nil (and
// drops the entry) when the job was removed, cancelled or queued again.
var bindScript = goredis.NewScript(`
local h = redis.call('HMGET', KEYS[2], 'sealed', 'entry', 'cancelled')
if (not h[1]) or h[2] ~= ARGV[3] or h[3] then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
  redis.call('XDEL', KEYS[1], ARGV[3])
  return false
end
redis.call('HSET', KEYS[2], 'runner', ARGV[2])
return h[1]
`)

// entryJob is a Lua helper returning the job ID of a stream entry, or nil.
const entryJob = `
local function entryJob(stream, id)
  local e = redis.call('XRANGE', stream, id, id)
  if #e == 0 then return nil end
  local f = e[1][2]
  for i = 1, #f, 2 do
    if f[i] == 'job' then return f[i+1] end
  end
  return nil
end
`

// reclaimScript hands a runner the oldest expired lease of a job that was
// never started: KEYS stream; ARGV group, runner, lease ms, key prefix. It
// returns {entry ID, job ID, sealed payload} or nil. Entries of removed, cancelled
// or re-queued jobs met on the way are dropped.
var reclaimScript = goredis.NewScript(entryJob + `
local pend = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', tonumber(ARGV[3]), '-', '+', 50)
for _, p in ipairs(pend) do
  local id = p[1]
  local job = entryJob(KEYS[1], id)
  if not job then
    redis.call('XACK', KEYS[1], ARGV[1], id)
  else
    local hk = ARGV[4] .. 'job:' .. job
    local h = redis.call('HMGET', hk, 'sealed', 'entry', 'started', 'cancelled')
    if (not h[1]) or h[2] ~= id or h[4] then
      redis.call('XACK', KEYS[1], ARGV[1], id)
      redis.call('XDEL', KEYS[1], id)
    elseif not h[3] then
      redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id, 'JUSTID')
      redis.call('HSET', hk, 'runner', ARGV[2])
      return {id, job, h[1]}
    end
  end
end
return false
`)

// holderCheck is a Lua prelude that returns 0 unless ARGV[2] holds entry
// ARGV[3] of stream KEYS[1] in group ARGV[1].
const holderCheck = `
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 or p[1][2] ~= ARGV[2] then return 0 end
`

// heartbeatScript renews a lease: KEYS stream, job hash; ARGV group,
// runner, entry ID. It returns 0 when the runner no longer holds it.
var heartbeatScript = goredis.NewScript(holderCheck + `
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
return 1
`)

// startedScript renews a lease and marks its job started, so that it is
// never handed to another runner: same keys and arguments as heartbeat.
var startedScript = goredis.NewScript(holderCheck + `
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
redis.call('HSET', KEYS[2], 'started', '1')
return 1
`)

// doneScript ends a lease: KEYS stream, job hash; ARGV group, runner,
// entry ID, seconds to keep the job hash. It returns 0 when another runner
// holds the entry, 1 otherwise (also when it was already done).
var doneScript = goredis.NewScript(`
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p > 0 and p[1][2] ~= ARGV[2] then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
if redis.call('HGET', KEYS[2], 'entry') == ARGV[3] then
  redis.call('HSET', KEYS[2], 'done', '1')
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[4]))
end
return 1
`)

// releaseScript puts an entry a runner read but does not want back at the
// end of its stream: KEYS stream, job hash; ARGV group, entry ID, job ID.
var releaseScript = goredis.NewScript(`
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if redis.call('HGET', KEYS[2], 'entry') ~= ARGV[2] then return 0 end
local id = redis.call('XADD', KEYS[1], '*', 'job', ARGV[3])
redis.call('HSET', KEYS[2], 'entry', id)
redis.call('HDEL', KEYS[2], 'runner')
return 1
`)

// removeScript takes a job off the queue: KEYS job hash; ARGV group,
// seconds to keep a taken job's hash. A job a runner already took is only
// marked cancelled (the runner is told separately); it returns 1 then, 2
// when the entry was dropped and 0 when the job was not queued.
var removeScript = goredis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'stream', 'entry', 'runner', 'done')
if (not h[1]) or h[4] then return 0 end
if h[3] then
  redis.call('HSET', KEYS[1], 'cancelled', '1')
  return 1
end
redis.call('XACK', h[1], ARGV[1], h[2])
redis.call('XDEL', h[1], h[2])
redis.call('DEL', KEYS[1])
return 2
`)

// expiredScript hands the expired leases of started jobs on a stream to
// the master: KEYS stream; ARGV group, lease ms, key prefix, master's
// consumer name. Leases already handed to the master (and not yet
// confirmed with reapedScript) are returned again, so that a master that
// restarted finishes them. It returns a flat list of job ID, runner pairs.
var expiredScript = goredis.NewScript(entryJob + `
local out = {}
local function consider(id, owner)
  local job = entryJob(KEYS[1], id)
  if not job then
    redis.call('XACK', KEYS[1], ARGV[1], id)
    return
  end
  local hk = ARGV[3] .. 'job:' .. job
  local h = redis.call('HMGET', hk, 'entry', 'started', 'cancelled', 'runner')
  if h[1] ~= id or h[3] then
    redis.call('XACK', KEYS[1], ARGV[1], id)
    redis.call('XDEL', KEYS[1], id)
  elseif h[2] then
    if owner ~= ARGV[4] then
      redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[4], 0, id, 'JUSTID')
      redis.call('HSET', hk, 'reaped', '1')
    end
    table.insert(out, job)
    table.insert(out, h[4] or owner)
  end
end
for _, p in ipairs(redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 100, ARGV[4])) do
  consider(p[1], p[2])
end
for _, p in ipairs(redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', tonumber(ARGV[2]), '-', '+', 100)) do
  if p[2] ~= ARGV[4] then consider(p[1], p[2]) end
end
return out
`)

// reapedScript confirms that the master ended an expired job: KEYS job
// hash; ARGV group, master's consumer name, seconds to keep the hash.
var reapedScript = goredis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'stream', 'entry')
if not h[1] then return 0 end
local p = redis.call('XPENDING', h[1], ARGV[1], h[2], h[2], 1)
if #p > 0 and p[1][2] ~= ARGV[2] then return 0 end
redis.call('XACK', h[1], ARGV[1], h[2])
redis.call('XDEL', h[1], h[2])
redis.call('HSET', KEYS[1], 'done', '1')
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
`)
