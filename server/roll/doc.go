// Package roll moves voter rolls in and out of Dengji: it imports districts
// and registrations from the spreadsheets election offices keep (CSV in
// UTF-8 or GB18030, XLSX), and exports the voter roll of a district (选民榜)
// and the statistics reported up the chain.
//
// Every imported registration becomes a server change written through
// store.Push, so devices receive it at their next pull like any other edit.
// Imports are idempotent by the row's reference: a row whose reference was
// imported before is left alone.
package roll
