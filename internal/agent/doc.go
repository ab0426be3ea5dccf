// Package agent is a remote runner's side of its link with the master
// (package dispatch is the master's; package wire what both share). An
// Agent wraps the Redis queue's Source, loads each job's work from the
// sealed payload the master put in the queue, reports job and task
// statuses and artifacts as signed events on a Redis stream, registers the
// runner (name, arches, capacity, running jobs, log address) with a short
// TTL, and cancels jobs the master asks it to.
package agent
