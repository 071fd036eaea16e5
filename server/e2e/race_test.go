//go:build race

package e2e

// raceEnabled: the race detector slows the server several times over.
const raceEnabled = true
