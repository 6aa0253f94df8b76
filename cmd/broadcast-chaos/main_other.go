//go:build !linux

// Command broadcast-chaos runs fault and endurance tests of Velocity
// Broadcast; it needs Linux (/proc, Pdeathsig).
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "broadcast-chaos runs on Linux only")
	os.Exit(1)
}
