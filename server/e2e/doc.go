// Package e2e holds the end-to-end tests: the real server on a real loopback
// listener over real bbolt files, and real SDK devices with bbolt files of
// their own, syncing through it.
package e2e
