// Package sdk is the library a registrar's app embeds: an offline-first store
// of voter-registration records that syncs with the Dengji server.
//
// Every edit the app makes is a change (package sync) written to a local
// bbolt file in one transaction together with the record as the app now sees
// it, so a killed process never loses typed work. Sync pushes the pending
// changes and pulls the server's state; local changes not yet acknowledged
// stay on top of pulled state. Conflicts the server reports, and how a
// coordinator later decided them, and changes it rejects are kept on the
// device for the app to show.
//
// The package imports nothing of the server: only the protocol (package
// sync), the shared record model, bbolt, uuid, the project's JSON codec
// (internal/jsonx) and the standard library; a test checks it.
package sdk
