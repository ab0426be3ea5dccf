// Package redis is the distributed queue: the master enqueues jobs into
// Redis and runners on other hosts take them, with no database access.
//
// # Design
//
// Each architecture has a Redis stream (<prefix>q:<arch>) read by one
// consumer group ("runners"); a runner is a consumer named after itself.
// Streams were chosen over a list with hand-made leases because a consumer
// group already is a lease table: XREADGROUP hands an entry to exactly one
// runner and records it in the group's pending list with the runner's name
// and an idle time; a heartbeat is an XCLAIM by the holder that resets the
// idle time; an expired lease is an entry idle for longer than the lease
// time; XACK ends it. Routing by arch is choosing which streams to read.
//
// Next to the stream entry, which carries only the job ID, a hash
// <prefix>job:<id> holds the job's sealed payload (the queue.Item with its
// per-job Key and whatever the master's Payload hook adds: manifest, owner,
// secrets), the current entry ID, the runner that took it and two flags:
// started (set by the runner when it starts the job) and cancelled (set by
// Remove once a runner already has it). Every state change that reads and
// writes both the stream and the hash is one Lua script, so it is atomic.
//
// # Expired leases
//
// A runner that stops heartbeating loses its leases after LeaseTime:
//   - a job it never started is handed to the next runner that calls Take
//     (Take first looks for such entries), so no master is needed for that;
//   - a job it had started is left to the master: Queue.Expired returns it
//     and removes it from the queue, and the master ends it failed with a
//     log line saying why. A job is never run twice once it has started.
//
// A runner that heartbeats a lease it no longer holds gets ErrLeaseLost and
// must stop the job.
//
// # Persistence
//
// The queue is only as durable as Redis: run the shared instance with
// "appendonly yes" (and the default "appendfsync everysec"), so that a
// restart loses at most the last second of writes and no queued job
// otherwise. Clients reconnect by themselves; Take retries after errors.
//
// # Trust
//
// Payloads are sealed (XChaCha20-Poly1305) with the network key shared by
// the master and the runners, so anyone who can read the shared Redis but
// lacks the key learns only job IDs, arches and images. Every runner holds
// the key, so a runner is trusted with the payloads of queued jobs; what it
// cannot do is taken up by internal/events (see docs/deploy.md).
package redis
