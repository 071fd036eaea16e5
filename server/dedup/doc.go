// Package dedup finds voters registered more than once ("不重"): the same
// person entered in two districts, with a homophone or traditional-character
// name, a mistyped or missing resident ID, or a lunar birthday written as a
// solar date.
//
// It is pure Go with no storage and no HTTP. A full run (Run) normalises the
// records, blocks them on several keys, scores candidate pairs with a
// Fellegi–Sunter log-likelihood whose weights are estimated from the data
// itself, clusters the automatic links without chaining different valid IDs,
// and returns an Index for matching later batches (Index.Match). Reconcile
// turns clusters into Cases while keeping every decision a person has made.
// Evaluate measures an output against ground truth.
package dedup
