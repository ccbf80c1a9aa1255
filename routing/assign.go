package routing

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
)

// Assignment modes.
const (
	ModeDirect = "direct" // the best engineer gets the ticket
	ModeOffer  = "offer"  // the best OfferN engineers are offered it; the first to accept gets it
)

// Rejection reasons in Considered.Rejected.
const (
	RejectInactive    = "inactive"
	RejectBlacklisted = "blacklisted"
	RejectCompetence  = "no competence"
	RejectArea        = "outside area"
	RejectCapacity    = "at capacity"
	RejectExcluded    = "excluded"
)

// DefaultOfferN is how many engineers an offer goes to when Policy.OfferN is 0.
const DefaultOfferN = 3

// Policy is what the rules say about an assignment.
type Policy struct {
	Mode    string   // ModeDirect (default) or ModeOffer
	OfferN  int      // engineers in an offer; DefaultOfferN when 0
	Exclude []string // never these engineers
	Prefer  []string // these first (after the store's fixed engineer), in this order
	Only    []string // only these engineers are considered
	// Engineer is forced by a rule. He gets the ticket when eligible; when not,
	// the usual ranking applies and Reason says why the rule was not followed.
	Engineer string
}

// Assignment is the decision and its explanation.
type Assignment struct {
	Engineer   string   // "" when nobody is eligible, and in offer mode
	Offer      []string // offer mode: best first
	Reason     string
	Considered []Considered // eligible first, by rank; then the rejected
}

// Considered is one engineer looked at and what was found.
type Considered struct {
	Code  string
	Fixed bool // the store's fixed engineer
	// DistanceKm from the engineer's base; -1 when unknown or not computed
	// (rejected for status or competence before coverage was looked at).
	DistanceKm float64
	Load       int
	Rating     float64
	Eligible   bool
	Rejected   string // one of the Reject* reasons; "" when eligible
	Rank       int    // 1 = best; 0 when rejected
}

// ErrAssignmentInvariant is returned by CheckAssignment when an assignment
// breaks a rule of assignment.
var ErrAssignmentInvariant = errors.New("assignment breaks an invariant")

// engineerIndex finds the engineers who may cover a store without looking at
// all of them: by OKTMO area prefix and by a coarse grid of their bases.
type engineerIndex struct {
	byArea    map[string][]int
	grid      map[[2]int][]int
	maxRadius float64
	prefixes  [][]string // per engineer: areaPrefix of each area
	compBit   map[string]uint64
	compMask  []uint64 // per engineer: competences as bits of compBit
}

const gridDeg = 0.5

func gridCell(lat, lon float64) [2]int {
	return [2]int{int(math.Floor(lat / gridDeg)), int(math.Floor(lon / gridDeg))}
}

func buildEngineerIndex(es []Engineer) engineerIndex {
	ix := engineerIndex{
		byArea: map[string][]int{}, grid: map[[2]int][]int{},
		prefixes: make([][]string, len(es)), compBit: map[string]uint64{}, compMask: make([]uint64, len(es)),
	}
	for i, e := range es {
		for _, a := range e.Areas {
			p := areaPrefix(a)
			if p != "" {
				ix.byArea[p] = append(ix.byArea[p], i)
				ix.prefixes[i] = append(ix.prefixes[i], p)
			}
		}
		for _, c := range e.Competences {
			bit, ok := ix.compBit[c]
			if !ok && len(ix.compBit) < 64 {
				bit = 1 << len(ix.compBit)
				ix.compBit[c] = bit
			}
			ix.compMask[i] |= bit
		}
		if e.RadiusKm > 0 && (e.Lat != 0 || e.Lon != 0) {
			c := gridCell(e.Lat, e.Lon)
			ix.grid[c] = append(ix.grid[c], i)
			ix.maxRadius = max(ix.maxRadius, e.RadiusKm)
		}
	}
	return ix
}

// areaPrefix is the OKTMO prefix an area code covers: trailing all-zero
// groups (digits 3-5, 6-8, 9-11) are dropped, so 45000000 -> "45" and
// 46760000 -> "46760", while 56701001 covers itself only.
func areaPrefix(code string) string {
	code = strings.TrimSpace(code)
	bounds := []int{2, 5, 8, 11}
	end := len(code)
	for k := len(bounds) - 1; k >= 1; k-- {
		b, prev := bounds[k], bounds[k-1]
		if b != end {
			continue
		}
		if strings.Trim(code[prev:b], "0") == "" {
			end = prev
		}
	}
	if end == len(code) && !slices.Contains(bounds, len(code)) {
		return strings.TrimRight(code, "0")
	}
	return code[:end]
}

// covers reports whether an engineer covers a store by area or by radius,
// and how far the store is from his base (-1 when unknown).
func covers(e *Engineer, prefixes []string, o *Object) (bool, float64) {
	dist := -1.0
	if hasGeo(o) && (e.Lat != 0 || e.Lon != 0) {
		dist = haversineKm(e.Lat, e.Lon, o.Lat, o.Lon)
	}
	for _, p := range prefixes {
		if strings.HasPrefix(o.OKTMO, p) {
			return true, dist
		}
	}
	return dist >= 0 && dist <= e.RadiusKm, dist
}

// competent reports whether engineer i holds the competence.
func (ix *engineerIndex) competent(i int, es []Engineer, competence string) bool {
	if bit, ok := ix.compBit[competence]; ok {
		return ix.compMask[i]&bit != 0
	}
	return slices.Contains(es[i].Competences, competence)
}

func hasGeo(o *Object) bool { return o.HasGeo || o.Lat != 0 || o.Lon != 0 }

func haversineKm(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}

// competenceOf is the competence a category needs; an unknown category
// names the competence itself.
func (d *Directory) competenceOf(category string) string {
	if c := d.Category(category); c != nil && c.Competence != "" {
		return c.Competence
	}
	return category
}

// nearby appends to out the engineers who may cover the store: those with
// an area above its OKTMO and those based within the largest radius of it.
// The result is sorted and without duplicates.
func (d *Directory) nearby(out []int, o *Object) []int {
	ix := &d.engGeo
	for _, n := range [...]int{2, 5, 8, 11} {
		if n <= len(o.OKTMO) {
			out = append(out, ix.byArea[o.OKTMO[:n]]...)
		}
	}
	if hasGeo(o) && ix.maxRadius > 0 {
		dLat := ix.maxRadius / 111.0
		dLon := ix.maxRadius / (111.0 * math.Max(0.1, math.Cos(o.Lat*math.Pi/180)))
		lo, hi := gridCell(o.Lat-dLat, o.Lon-dLon), gridCell(o.Lat+dLat, o.Lon+dLon)
		for a := lo[0]; a <= hi[0]; a++ {
			for b := lo[1]; b <= hi[1]; b++ {
				out = append(out, ix.grid[[2]int{a, b}]...)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// evaluate checks one engineer against a store and returns what was found.
func (d *Directory) evaluate(i int, o *Object, competence string, load map[string]int, excluded bool) Considered {
	e := &d.engineers[i]
	c := Considered{Code: e.Code, Fixed: o.Engineer == e.Code, Load: load[e.Code], Rating: e.Rating, DistanceKm: -1}
	// Cheap checks first; the distance is computed only for engineers who
	// pass them.
	switch {
	case excluded:
		c.Rejected = RejectExcluded
		return c
	case e.Status == EngineerBlacklisted:
		c.Rejected = RejectBlacklisted
		return c
	case e.Status != EngineerActive:
		c.Rejected = RejectInactive
		return c
	case !d.engGeo.competent(i, d.engineers, competence):
		c.Rejected = RejectCompetence
		return c
	}
	ok, dist := covers(e, d.engGeo.prefixes[i], o)
	if dist >= 0 {
		c.DistanceKm = math.Round(dist*10) / 10
	}
	switch {
	case !ok:
		c.Rejected = RejectArea
	case e.MaxOpen <= 0 || c.Load >= e.MaxOpen:
		c.Rejected = RejectCapacity
	default:
		c.Eligible = true
	}
	return c
}

// Assign picks the engineer for a ticket at store obj in category. load holds
// every engineer's open tickets (missing means none). See the package doc
// for the rules; every Assignment says how it was reached.
//
// It runs for every message, against hundreds of engineers around a store in
// a big city, so it allocates the Considered list once and ranks it in place:
// garbage here is what drives the tail latency of the whole pipeline.
func (d *Directory) Assign(obj *Object, category string, load map[string]int, p Policy) Assignment {
	if obj == nil {
		return Assignment{Reason: ReasonNoStore}
	}
	competence := d.competenceOf(category)
	buf := idxPool.Get().(*[]int)
	defer func() { idxPool.Put(buf) }()
	idx := (*buf)[:0]
	if len(p.Only) > 0 {
		for _, code := range p.Only {
			if i, ok := d.engByCode[code]; ok {
				idx = append(idx, i)
			}
		}
	} else {
		idx = d.nearby(idx, obj)
		add := func(code string) {
			if i, ok := d.engByCode[code]; ok && !slices.Contains(idx, i) {
				idx = append(idx, i)
			}
		}
		add(obj.Engineer)
		add(p.Engineer)
		for _, code := range p.Prefer {
			add(code)
		}
	}
	*buf = idx
	// Eligible first, ranked; the rejected follow in directory order. The
	// eligible fill the list from the front, the rejected from the back (so
	// reversed), and only the eligible are sorted.
	cons := make([]Considered, len(idx))
	ne, back := 0, len(idx)
	for _, i := range idx {
		c := d.evaluate(i, obj, competence, load, len(p.Exclude) > 0 && slices.Contains(p.Exclude, d.engineers[i].Code))
		if c.Eligible {
			cons[ne] = c
			ne++
		} else {
			back--
			cons[back] = c
		}
	}
	slices.Reverse(cons[ne:])
	prefRank := func(code string) int {
		if x := slices.Index(p.Prefer, code); x >= 0 {
			return x
		}
		return len(p.Prefer)
	}
	slices.SortFunc(cons[:ne], func(a, b Considered) int {
		if a.Fixed != b.Fixed {
			if a.Fixed {
				return -1
			}
			return 1
		}
		if len(p.Prefer) > 0 {
			if c := cmp.Compare(prefRank(a.Code), prefRank(b.Code)); c != 0 {
				return c
			}
		}
		return cmp.Or(
			cmp.Compare(kmBucket(a.DistanceKm), kmBucket(b.DistanceKm)),
			cmp.Compare(a.Load, b.Load),
			cmp.Compare(b.Rating, a.Rating),
			strings.Compare(a.Code, b.Code),
		)
	})
	for k := range ne {
		cons[k].Rank = k + 1
	}
	eligible := cons[:ne]
	a := Assignment{Considered: cons}
	if ne == 0 {
		a.Reason = noneReason(cons, obj, competence)
		return a
	}
	note := ""
	forced := false
	if p.Engineer != "" {
		if slices.ContainsFunc(eligible, func(c Considered) bool { return c.Code == p.Engineer }) {
			if p.Mode != ModeOffer {
				a.Engineer = p.Engineer
				a.Reason = fmt.Sprintf(ReasonForced, p.Engineer)
				return a
			}
			forced = true
		} else {
			note = fmt.Sprintf(ReasonRuleNotElig, p.Engineer, rejection(cons, p.Engineer))
		}
	}
	if p.Mode == ModeOffer {
		n := p.OfferN
		if n <= 0 {
			n = DefaultOfferN
		}
		// The ranking, with the rule's engineer moved to the front.
		nRanked := ne
		if forced {
			nRanked = 1
			for _, c := range eligible {
				if c.Code != p.Engineer {
					nRanked++
				}
			}
		}
		offer := make([]string, 0, min(n, nRanked))
		if forced {
			offer = append(offer, p.Engineer)
		}
		for _, c := range eligible {
			if len(offer) == cap(offer) {
				break
			}
			if !forced || c.Code != p.Engineer {
				offer = append(offer, c.Code)
			}
		}
		a.Offer = offer
		a.Reason = fmt.Sprintf(ReasonOffered, len(a.Offer), nRanked) + note
		return a
	}
	best := cons[0]
	a.Engineer = best.Code
	switch {
	case best.Fixed:
		a.Reason = ReasonFixed + note
	case slices.Contains(p.Prefer, best.Code):
		a.Reason = ReasonPreferred + note
	default:
		a.Reason = fmt.Sprintf(ReasonNearest, best.DistanceKm, best.Load, best.Rating, ne) + note
		if obj.Engineer != "" {
			a.Reason += fmt.Sprintf(ReasonFixedNot, obj.Engineer, rejection(cons, obj.Engineer))
		}
	}
	return a
}

// idxPool holds the engineer index lists Assign works on.
var idxPool = sync.Pool{New: func() any { return new([]int) }}

// kmBucket compares distances in whole kilometres so that load and rating
// decide between engineers about equally far; unknown distance goes last.
func kmBucket(km float64) int {
	if km < 0 {
		return math.MaxInt32
	}
	return int(km)
}

func rejection(cons []Considered, code string) string {
	for _, c := range cons {
		if c.Code == code {
			if c.Eligible {
				return ReasonEligible
			}
			return c.Rejected
		}
	}
	return ReasonUnknownEng
}

func noneReason(cons []Considered, o *Object, competence string) string {
	if len(cons) == 0 {
		return fmt.Sprintf(ReasonNobodyCovers, o.OKTMO, o.Client, o.Code)
	}
	counts := map[string]int{}
	for _, c := range cons {
		counts[c.Rejected]++
	}
	var parts []string
	for _, r := range []string{RejectExcluded, RejectBlacklisted, RejectInactive, RejectCompetence, RejectArea, RejectCapacity} {
		if n := counts[r]; n > 0 {
			label := r
			if r == RejectCompetence {
				label = fmt.Sprintf(ReasonWithout, competence)
			}
			parts = append(parts, fmt.Sprintf(ReasonRejectedCount, n, label))
		}
	}
	return fmt.Sprintf(ReasonNoneEligible, len(cons), strings.Join(parts, ", "))
}

// CheckAssignment verifies an assignment already made against the rules:
// the engineer is active, competent for the category, covers the store and
// was under capacity at the time (loadAtAssign excludes the ticket itself),
// and the store's fixed engineer got it when he was eligible.
func CheckAssignment(d *Directory, obj *Object, category, engineer string, loadAtAssign map[string]int) error {
	if obj == nil {
		return fmt.Errorf("%w: no store", ErrAssignmentInvariant)
	}
	ei, ok := d.engByCode[engineer]
	if !ok {
		return fmt.Errorf("%w: %s/%s: unknown engineer %q", ErrAssignmentInvariant, obj.Client, obj.Code, engineer)
	}
	competence := d.competenceOf(category)
	c := d.evaluate(ei, obj, competence, loadAtAssign, false)
	var errs []error
	if !c.Eligible {
		errs = append(errs, fmt.Errorf("%w: %s/%s: engineer %s: %s", ErrAssignmentInvariant, obj.Client, obj.Code, engineer, c.Rejected))
	}
	if obj.Engineer != "" && obj.Engineer != engineer {
		if fi, ok := d.engByCode[obj.Engineer]; ok {
			if fc := d.evaluate(fi, obj, competence, loadAtAssign, false); fc.Eligible {
				errs = append(errs, fmt.Errorf("%w: %s/%s: fixed engineer %s was eligible but %s got it", ErrAssignmentInvariant, obj.Client, obj.Code, obj.Engineer, engineer))
			}
		}
	}
	return errors.Join(errs...)
}
