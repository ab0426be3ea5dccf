// Package integration_test runs the distributed set-up for real: an
// in-process master (PostgreSQL store, submit service, dispatch.Master) and
// runner processes of the builds binary, built once in TestMain, sharing a
// Redis server. Runners use --fake-vm, so jobs exercise the queue, the
// event stream and the store without booting VMs.
package integration_test
