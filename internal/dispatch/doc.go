// Package events is the control plane between the master and remote
// runners, which share nothing but a Redis instance (the queue's) and the
// network key.
//
// Runner side: an Agent wraps the Redis queue's Source, loads each job's
// work from the sealed payload the master put in the queue, reports job
// and task statuses and artifacts as events on a Redis stream, registers
// the runner (name, arches, capacity, running jobs, log address) with a
// short TTL, and cancels jobs the master asks it to.
//
// Master side: an Applier reads the event stream in a consumer group and
// applies each event to the store, in order and idempotently. An event is
// applied only if its HMAC verifies with the per-job key (queue.Item.Key),
// it comes from the runner that holds the job's lease, and its sequence
// number is new; terminal statuses never change. The Applier also ends
// the started jobs whose runner stopped renewing its lease. Payloads
// builds what the queue seals for a runner; Canceller tells runners to
// cancel; LogProxy serves a job's logs from the runner that ran it
// through the master's own access checks; Runners lists live runners.
//
// Redis keys (all under the queue's prefix, "builds:" by default):
//
//	events          stream of runner events, group "master"
//	runner:<name>   a runner's registration, expires unless renewed
//	cancel:<id>     set when job <id> is cancelled; also published on
//	                the channel "cancel"
//	logurl:<id>     where job <id>'s logs live (master-private Redis)
//	seq:<id>        last applied event sequence (master-private Redis)
package events
