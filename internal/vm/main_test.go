package vm_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"builds/internal/vm"
)

// TestMain lets the test binary play helper processes the tests start:
// BUILDS_VM_TEST_ROLE=marker serves a marker on BUILDS_VM_TEST_ADDR (inside
// a network namespace the test made), and =owner boots a VM and waits to be
// killed, as a runner would.
func TestMain(m *testing.M) {
	switch os.Getenv("BUILDS_VM_TEST_ROLE") {
	case "marker":
		os.Exit(serveMarker(os.Getenv("BUILDS_VM_TEST_ADDR")))
	case "owner":
		os.Exit(bootAndWait())
	}
	os.Exit(m.Run())
}

// markerText is what marker services answer.
const markerText = "builds-test-marker"

func serveMarker(addr string) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("listening")
	for {
		c, err := ln.Accept()
		if err != nil {
			return 1
		}
		fmt.Fprintf(c, "HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(markerText), markerText)
		c.Close()
	}
}

// bootAndWait boots a VM as described by the environment, prints
// "booted PORT" and sleeps until killed.
func bootAndWait() int {
	port, _ := strconv.Atoi(os.Getenv("BUILDS_VM_TEST_PORT"))
	c := &vm.Control{
		Cmd: os.Getenv("BUILDS_VM_TEST_CMD"), ImagesDir: os.Getenv("BUILDS_VM_TEST_IMAGES"),
		Means: os.Getenv("BUILDS_VM_TEST_MEANS"), StateDir: os.Getenv("BUILDS_VM_TEST_STATE"),
		SSHKey: os.Getenv("BUILDS_VM_TEST_KEY"), CPUs: 1, MemoryMiB: 512,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := c.Boot(ctx, testImage, "amd64", port); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("booted %d\n", port)
	time.Sleep(time.Hour)
	return 0
}
