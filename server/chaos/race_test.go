//go:build race

package chaos

// raceEnabled: under the race detector the slice runs fewer runs, since
// every run is several times slower there and CI runs the slice without it
// too.
const raceEnabled = true
