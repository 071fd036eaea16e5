//go:build !linux

package main

// limitMemory leaves the runtime's memory limit to GOMEMLIMIT where the
// machine's memory is not read (see memlimit_linux.go).
func limitMemory() {}
