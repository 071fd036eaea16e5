package dedup

import "runtime"

// Record is one registration as the deduplication engine sees it. The
// server maps stored registrations to this shape.
type Record struct {
	ID               string // unique record id
	Ref              string // caller's reference (e.g. registration id); not compared
	District         string // 选区; compared by its county (its first six digits), see FieldCounty
	Name             string
	Gender           string // "M", "F" or ""
	BirthDate        string // "YYYY-MM-DD" (also "YYYYMMDD") or ""
	IDNumber         string
	HouseholdAddress string
	ResidenceAddress string
	Phone            string
}

// Decision is the outcome for a scored pair or cluster.
type Decision string

// Decisions. A pair below the review threshold gets no Link at all.
const (
	Auto   Decision = "auto"   // same person, with high confidence
	Review Decision = "review" // a person has to look at it
)

// Options tune a run. The zero value is not useful; start from DefaultOptions.
type Options struct {
	// IDChecksum says IDNumber is a Chinese resident ID (18 characters with
	// ISO 7064 MOD 11-2 check, or a legacy 15-digit number). Only IDs the
	// engine can validate take part in the rule that two different valid IDs
	// never link; with false (e.g. FEBRL's soc_sec_id) IDs are compared as
	// plain strings.
	IDChecksum bool
	// SplitBlock is the largest block compared whole. A larger one is split
	// by a further field (the birth date, the name, the address down to the
	// town: those its key does not hold already), and each sub-block is
	// compared on its own, so that blocks stay the same size as the roll
	// grows. 0 (or more than MaxBlock) means MaxBlock.
	SplitBlock int
	// MaxBlock is the largest sub-block whose pairs are compared; larger
	// ones are skipped and counted in Stats.
	MaxBlock int
	// AutoBits and ReviewBits are thresholds on the posterior log2-odds of a
	// pair (Evidence.Posterior). A review costs a coordinator a minute, a
	// missed duplicate a voter registered twice, so review goes down to
	// odds of 1:8 (-3): on ten million generated records the band from -3
	// to -2 held about as many true pairs as false ones (recall 0.9799 to
	// 0.9811, precision 0.9978 to 0.9967, the queue 0.35% to 0.36% of
	// records).
	AutoBits, ReviewBits float64
	// DupRate is the expected number of duplicates per record, used to turn
	// the match weight into posterior odds where the data cannot tell it
	// (see Weights.DupRate).
	DupRate float64
	// MaxCluster caps the size of an automatic cluster; a link that would
	// exceed it is kept for review instead.
	MaxCluster int
	// Workers is the number of goroutines used for scoring.
	Workers int
	// Samples is the number of random pairs used to estimate u-probabilities
	// and the cap on positive/negative training pairs.
	Samples int
	// Seed drives the random pair sample.
	Seed int64
}

// DefaultOptions returns options for Chinese resident-ID data.
func DefaultOptions() Options {
	return Options{
		IDChecksum: true,
		SplitBlock: 50,
		MaxBlock:   300,
		AutoBits:   6,
		ReviewBits: -3,
		DupRate:    0.05,
		MaxCluster: 6,
		Workers:    runtime.GOMAXPROCS(0),
		Samples:    200000,
		Seed:       1,
	}
}

// splitAt is the size from which a block is split: SplitBlock, and never
// more than MaxBlock (no larger block is compared whole).
func (o Options) splitAt() int {
	if o.SplitBlock > 0 {
		return min(o.SplitBlock, o.MaxBlock)
	}
	return o.MaxBlock
}

// Field identifies a compared field.
type Field uint8

// Compared fields.
const (
	FieldName Field = iota
	FieldBirth
	FieldID
	FieldGender
	FieldPhone
	FieldAddress
	// FieldCounty compares the counties of the two districts (the codes'
	// first six digits; the first four are the city): a second
	// registration is mostly made in the county or the city of the first
	// (moved, or working nearby), while strangers who share a name and a
	// birth date are spread over the whole roll, so at a province's scale
	// it tells them apart where a county's roll cannot. It counts only
	// where the addresses do not agree already: an agreeing address is in
	// the same county, and says so.
	FieldCounty
	numFields
)

var fieldNames = [numFields]string{"name", "birth_date", "id_number", "gender", "phone", "address", "county"}

// String returns the field's name as used in evidence.
func (f Field) String() string { return fieldNames[f] }

// Level is how two values of a field agree.
type Level uint8

// Agreement levels, from none to full.
const (
	LevelMissing  Level = iota // one side blank: weight 0
	LevelConflict              // two different valid resident IDs: never auto
	LevelDisagree
	LevelClose    // Jaro-Winkler / one edit / day-month swap
	LevelLunar    // one birth date is the other's lunar date written as solar
	LevelPinyin   // names differ in characters but are homophones
	LevelRepaired // an ID failing its checksum repairs to the other ID
	LevelExact
	numLevels
)

var levelNames = [numLevels]string{"missing", "conflict", "disagree", "close", "lunar", "pinyin", "repaired", "exact"}

// String returns the level's name as used in evidence.
func (l Level) String() string { return levelNames[l] }
