package model

import "github.com/dengji/dengji/model/idcard"

// District codes. Every district's code begins with the 6-digit division
// code of its county (GB/T 2260): a village or community may use its
// 12-digit statistical code (county, town, then its own three digits); a
// work-unit or locally numbered district, which has none, the county's or
// its town's code followed by a number of its own. Scopes are code
// prefixes, so a county's or a town's coordinator covers every district
// whose code begins with the county's or the town's code, whatever its
// length.
const (
	countyCodeLen      = 6
	townCodeLen        = 9
	statisticalCodeLen = 12
	maxDistrictCodeLen = 24
)

// DistrictCodeValid reports whether code is a well-formed district code:
// a known county's code followed by 1 to 18 digits, capital letters or
// hyphens.
func DistrictCodeValid(code string) bool {
	if len(code) <= countyCodeLen || len(code) > maxDistrictCodeLen {
		return false
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		digit := c >= '0' && c <= '9'
		if i < countyCodeLen && !digit || !digit && !(c >= 'A' && c <= 'Z') && c != '-' {
			return false
		}
	}
	known, _ := idcard.RegionKnown(code[:countyCodeLen], 0)
	return known
}

// CountyOf returns the county code a district code begins with.
func CountyOf(code string) string {
	if len(code) < countyCodeLen {
		return ""
	}
	return code[:countyCodeLen]
}

// TownOf returns the town (乡镇, 街道) of a 12-digit statistical district
// code, or "" for a code that does not say (a work unit numbered after its
// county, say: the districts table may name its town).
func TownOf(code string) string {
	if len(code) != statisticalCodeLen || !digits(code) {
		return ""
	}
	return code[:townCodeLen]
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ScopeEntryValid reports whether code may stand in a user's scope: a
// province's 2 or a city's 4 leading digits, a known county's 6, or a
// district code (which a town's 9 digits are too: the county's code and the
// town's number).
func ScopeEntryValid(code string) bool {
	switch len(code) {
	case 2, 4:
		if !digits(code) {
			return false
		}
		known, _ := idcard.RegionKnown(code+"000000"[len(code):], 0)
		return known
	case countyCodeLen:
		if !digits(code) {
			return false
		}
		known, _ := idcard.RegionKnown(code, 0)
		return known
	}
	return DistrictCodeValid(code)
}
