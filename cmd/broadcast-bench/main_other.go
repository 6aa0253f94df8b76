//go:build !linux

// Command broadcast-bench is the load generator of Velocity Broadcast. It
// measures with Linux interfaces (epoll, SO_TIMESTAMPNS, /proc), so on
// other systems it only says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "broadcast-bench runs on Linux only")
	os.Exit(1)
}
