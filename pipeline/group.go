package pipeline

import (
	"slices"

	"github.com/intakehq/intake/flow"
)

// groupJobs splits a batch into at most n groups that can complete in
// parallel: jobs that may refer to one another (an order and its
// follow-ups: the same order number, a Message-ID and the replies to it, a
// quoted number) land in the same group, in id order. Items of sources that
// parse inside the transaction are kept together, since what they refer to
// is not known beforehand.
func groupJobs(jobs []*job, n int) [][]*job {
	if n <= 1 || len(jobs) <= 1 {
		if len(jobs) == 0 {
			return nil
		}
		return [][]*job{jobs}
	}
	parent := make([]int, len(jobs))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	owner := map[string]int{}
	for i, j := range jobs {
		for _, k := range orderKeys(j) {
			if o, ok := owner[k]; ok {
				parent[find(i)] = find(o)
			} else {
				owner[k] = i
			}
		}
	}
	// Components in order of their first job, each to the least loaded
	// group.
	comp := map[int][]*job{}
	var roots []int
	for i, j := range jobs {
		r := find(i)
		if _, ok := comp[r]; !ok {
			roots = append(roots, r)
		}
		comp[r] = append(comp[r], j)
	}
	groups := make([][]*job, min(n, len(roots)))
	for _, r := range roots {
		least := 0
		for g := range groups {
			if len(groups[g]) < len(groups[least]) {
				least = g
			}
		}
		groups[least] = append(groups[least], comp[r]...)
	}
	for _, g := range groups {
		slices.SortFunc(g, func(a, b *job) int { return int(a.it.ID - b.it.ID) })
	}
	return groups
}

// orderKeys are what a job may share with another in the same batch.
func orderKeys(j *job) []string {
	if j.result != nil || j.err != nil {
		return nil // its outcome is decided: it refers to nothing
	}
	if j.parsed == nil {
		return []string{"source:" + j.it.Source + "/" + j.it.Stage}
	}
	pd := j.parsed
	keys := make([]string, 0, 4+len(pd.InReplyTo)+len(pd.References)+len(pd.Fields.Refs))
	if pd.MessageID != "" {
		keys = append(keys, "mid:"+pd.MessageID)
	}
	if j.it.MessageID != "" {
		keys = append(keys, "mid:"+j.it.MessageID)
	}
	for _, m := range pd.InReplyTo {
		keys = append(keys, "mid:"+m)
	}
	for _, m := range pd.References {
		keys = append(keys, "mid:"+m)
	}
	if pd.Fields.ExternalID != "" {
		keys = append(keys, "ext:"+pd.Fields.ExternalID)
	}
	for _, r := range pd.Fields.Refs {
		keys = append(keys, "ext:"+r)
	}
	if j.it.Source != flow.SourceMail {
		keys = append(keys, "source:"+j.it.Source)
	}
	return keys
}
