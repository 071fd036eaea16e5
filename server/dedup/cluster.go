package dedup

import (
	"cmp"
	"slices"
)

// pairLink is a scored pair in record-index space.
type pairLink struct {
	a, b  int32
	score float64 // posterior log2-odds
	total float64 // sum of field weights
	lv    levels
	dec   Decision
}

// clusterer is a union-find that refuses merges that would put two
// different valid IDs, or more than maxSize records, into one cluster.
type clusterer struct {
	parent  []int32
	size    []int32
	vid     []string // valid resident ID of the root's cluster, "" if none
	maxSize int32
}

func newClusterer(n, maxSize int) *clusterer {
	c := &clusterer{parent: make([]int32, n), size: make([]int32, n), vid: make([]string, n), maxSize: int32(maxSize)}
	for i := range c.parent {
		c.parent[i], c.size[i] = int32(i), 1
	}
	return c
}

func (c *clusterer) find(x int32) int32 {
	for c.parent[x] != x {
		c.parent[x] = c.parent[c.parent[x]]
		x = c.parent[x]
	}
	return x
}

// union merges the clusters of a and b; ok is false if the guard refused.
func (c *clusterer) union(a, b int32) (ok bool) {
	ra, rb := c.find(a), c.find(b)
	if ra == rb {
		return true
	}
	if c.vid[ra] != "" && c.vid[rb] != "" && c.vid[ra] != c.vid[rb] {
		return false
	}
	if c.size[ra]+c.size[rb] > c.maxSize {
		return false
	}
	if c.size[ra] < c.size[rb] {
		ra, rb = rb, ra
	}
	c.parent[rb] = ra
	c.size[ra] += c.size[rb]
	if c.vid[ra] == "" {
		c.vid[ra] = c.vid[rb]
	}
	return true
}

// clusterLinks applies auto links strongest first; an auto link the guard
// refuses becomes a review link. It returns the links with their final
// decisions, and the number of links so demoted.
func clusterLinks(c *clusterer, links []pairLink) (demoted int) {
	slices.SortFunc(links, func(x, y pairLink) int {
		if d := cmp.Compare(y.score, x.score); d != 0 {
			return d
		}
		if d := cmp.Compare(x.a, y.a); d != 0 {
			return d
		}
		return cmp.Compare(x.b, y.b)
	})
	for i := range links {
		if links[i].dec == Auto && !c.union(links[i].a, links[i].b) {
			links[i].dec = Review
			demoted++
		}
	}
	return demoted
}

// groups splits links into those inside an auto cluster (keyed by root)
// and review links between different clusters, the strongest per pair of
// clusters. members lists the nodes of each cluster of size >= 2 among
// nodes (which must include every node of those clusters).
func groups(c *clusterer, links []pairLink, nodes []int32) (members map[int32][]int32, inside map[int32][]pairLink, review []pairLink) {
	members = map[int32][]int32{}
	inside = map[int32][]pairLink{}
	seen := map[[2]int32]bool{}
	for _, l := range links {
		ra, rb := c.find(l.a), c.find(l.b)
		if ra == rb {
			inside[ra] = append(inside[ra], l)
			continue
		}
		key := [2]int32{min(ra, rb), max(ra, rb)}
		if !seen[key] {
			seen[key] = true
			l.dec = Review
			review = append(review, l)
			nodes = append(nodes, l.a, l.b)
		}
	}
	slices.Sort(nodes)
	nodes = slices.Compact(nodes)
	for _, x := range nodes {
		if r := c.find(x); c.size[r] >= 2 {
			members[r] = append(members[r], x)
		}
	}
	return members, inside, review
}
