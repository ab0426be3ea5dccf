// Package dispatch is the master's side of the link with remote runners,
// which share nothing with it but a Redis instance (the queue's) and the
// network key. Package agent is the runner's side; package wire holds what
// both sides share.
//
// Payloads builds what the queue seals for a runner. An Applier reads the
// runners' event stream in a consumer group and hands each event, in
// order and once, to the job lifecycle, which stores and publishes it. An
// event is applied only if its HMAC verifies with the per-job key
// (queue.Item.Key), it comes from the runner that holds the job's lease,
// and its sequence number is new. The Applier also ends the started jobs
// whose runner stopped renewing its lease. Canceller tells runners to
// cancel; LogProxy serves a job's logs from the runner that ran it through
// the master's own access checks; Runners lists live runners.
//
// Redis keys (all under the queue's prefix, "builds:" by default):
//
//	events          stream of runner events, group "master"
//	runner:<name>   a runner's registration, expires unless renewed
//	cancel:<id>     set when job <id> is cancelled; also published on
//	                the channel "cancel"
//	logurl:<id>     where job <id>'s logs live (master-private Redis)
//	seq:<id>        last applied event sequence (master-private Redis)
package dispatch
