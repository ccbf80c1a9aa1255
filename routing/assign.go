package routing

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
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
	Code       string
	Fixed      bool // the store's fixed engineer
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
}

const gridDeg = 0.5

func gridCell(lat, lon float64) [2]int {
	return [2]int{int(math.Floor(lat / gridDeg)), int(math.Floor(lon / gridDeg))}
}

func buildEngineerIndex(es []Engineer) engineerIndex {
	ix := engineerIndex{byArea: map[string][]int{}, grid: map[[2]int][]int{}}
	for i, e := range es {
		for _, a := range e.Areas {
			p := areaPrefix(a)
			if p != "" {
				ix.byArea[p] = append(ix.byArea[p], i)
			}
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

// covers reports whether an engineer covers a store by area or by radius.
func covers(e *Engineer, o *Object) (bool, float64) {
	dist := -1.0
	if hasGeo(o) && (e.Lat != 0 || e.Lon != 0) {
		dist = haversineKm(e.Lat, e.Lon, o.Lat, o.Lon)
	}
	for _, a := range e.Areas {
		if p := areaPrefix(a); p != "" && strings.HasPrefix(o.OKTMO, p) {
			return true, dist
		}
	}
	return dist >= 0 && dist <= e.RadiusKm, dist
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

// nearby returns the engineers who may cover the store: those with an area
// above its OKTMO and those based within the largest radius of it.
func (d *Directory) nearby(o *Object) []int {
	seen := map[int]bool{}
	var out []int
	add := func(i int) {
		if !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	ix := &d.engGeo
	for _, n := range []int{2, 5, 8, 11} {
		if n <= len(o.OKTMO) {
			for _, i := range ix.byArea[o.OKTMO[:n]] {
				add(i)
			}
		}
	}
	if hasGeo(o) && ix.maxRadius > 0 {
		dLat := ix.maxRadius / 111.0
		dLon := ix.maxRadius / (111.0 * math.Max(0.1, math.Cos(o.Lat*math.Pi/180)))
		lo, hi := gridCell(o.Lat-dLat, o.Lon-dLon), gridCell(o.Lat+dLat, o.Lon+dLon)
		for a := lo[0]; a <= hi[0]; a++ {
			for b := lo[1]; b <= hi[1]; b++ {
				for _, i := range ix.grid[[2]int{a, b}] {
					add(i)
				}
			}
		}
	}
	return out
}

// evaluate checks one engineer against a store and returns what was found.
func (d *Directory) evaluate(e *Engineer, o *Object, competence string, load map[string]int, excluded bool) Considered {
	c := Considered{Code: e.Code, Fixed: o.Engineer == e.Code, Load: load[e.Code], Rating: e.Rating}
	ok, dist := covers(e, o)
	if dist >= 0 {
		c.DistanceKm = math.Round(dist*10) / 10
	} else {
		c.DistanceKm = -1
	}
	switch {
	case excluded:
		c.Rejected = RejectExcluded
	case e.Status == EngineerBlacklisted:
		c.Rejected = RejectBlacklisted
	case e.Status != EngineerActive:
		c.Rejected = RejectInactive
	case !slices.Contains(e.Competences, competence):
		c.Rejected = RejectCompetence
	case !ok:
		c.Rejected = RejectArea
	case e.MaxOpen > 0 && c.Load >= e.MaxOpen || e.MaxOpen <= 0:
		c.Rejected = RejectCapacity
	default:
		c.Eligible = true
	}
	return c
}

// Assign picks the engineer for a ticket at store obj in category. load holds
// every engineer's open tickets (missing means none). See the package doc
// for the rules; every Assignment says how it was reached.
func (d *Directory) Assign(obj *Object, category string, load map[string]int, p Policy) Assignment {
	if obj == nil {
		return Assignment{Reason: "no store: nobody to send"}
	}
	competence := d.competenceOf(category)
	var idx []int
	if len(p.Only) > 0 {
		for _, code := range p.Only {
			if i, ok := d.engByCode[code]; ok {
				idx = append(idx, i)
			}
		}
	} else {
		idx = d.nearby(obj)
		for _, code := range append([]string{obj.Engineer, p.Engineer}, p.Prefer...) {
			if i, ok := d.engByCode[code]; ok && !slices.Contains(idx, i) {
				idx = append(idx, i)
			}
		}
	}
	cons := make([]Considered, 0, len(idx))
	for _, i := range idx {
		e := &d.engineers[i]
		cons = append(cons, d.evaluate(e, obj, competence, load, slices.Contains(p.Exclude, e.Code)))
	}
	prefRank := func(code string) int {
		if k := slices.Index(p.Prefer, code); k >= 0 {
			return k
		}
		return len(p.Prefer)
	}
	slices.SortFunc(cons, func(a, b Considered) int {
		if a.Eligible != b.Eligible {
			if a.Eligible {
				return -1
			}
			return 1
		}
		if a.Fixed != b.Fixed {
			if a.Fixed {
				return -1
			}
			return 1
		}
		return cmp.Or(
			cmp.Compare(prefRank(a.Code), prefRank(b.Code)),
			cmp.Compare(kmBucket(a.DistanceKm), kmBucket(b.DistanceKm)),
			cmp.Compare(a.Load, b.Load),
			cmp.Compare(b.Rating, a.Rating),
			strings.Compare(a.Code, b.Code),
		)
	})
	var ranked []string
	for k := range cons {
		if cons[k].Eligible {
			cons[k].Rank = len(ranked) + 1
			ranked = append(ranked, cons[k].Code)
		}
	}
	a := Assignment{Considered: cons}
	if len(ranked) == 0 {
		a.Reason = noneReason(cons, obj, competence)
		return a
	}
	note := ""
	if p.Engineer != "" {
		if slices.Contains(ranked, p.Engineer) {
			if p.Mode != ModeOffer {
				a.Engineer = p.Engineer
				a.Reason = "forced by rule: " + p.Engineer
				return a
			}
			ranked = append([]string{p.Engineer}, slices.DeleteFunc(slices.Clone(ranked), func(s string) bool { return s == p.Engineer })...)
		} else {
			note = fmt.Sprintf("; rule's engineer %s not eligible (%s)", p.Engineer, rejection(cons, p.Engineer))
		}
	}
	if p.Mode == ModeOffer {
		n := p.OfferN
		if n <= 0 {
			n = DefaultOfferN
		}
		a.Offer = ranked[:min(n, len(ranked))]
		a.Reason = fmt.Sprintf("offered to %d of %d eligible", len(a.Offer), len(ranked)) + note
		return a
	}
	a.Engineer = ranked[0]
	best := cons[0]
	switch {
	case best.Fixed:
		a.Reason = "store's fixed engineer" + note
	case slices.Contains(p.Prefer, best.Code):
		a.Reason = "preferred by rule" + note
	default:
		a.Reason = fmt.Sprintf("nearest eligible (%.1f km, load %d, rating %.2f) of %d", best.DistanceKm, best.Load, best.Rating, len(ranked)) + note
		if obj.Engineer != "" {
			a.Reason += fmt.Sprintf("; fixed engineer %s %s", obj.Engineer, rejection(cons, obj.Engineer))
		}
	}
	return a
}

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
				return "eligible"
			}
			return c.Rejected
		}
	}
	return "unknown engineer"
}

func noneReason(cons []Considered, o *Object, competence string) string {
	if len(cons) == 0 {
		return fmt.Sprintf("no eligible engineer: nobody covers OKTMO %s or is based near %s/%s", o.OKTMO, o.Client, o.Code)
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
				label = "without " + competence
			}
			parts = append(parts, fmt.Sprintf("%d %s", n, label))
		}
	}
	return fmt.Sprintf("no eligible engineer: %d considered, %s", len(cons), strings.Join(parts, ", "))
}

// CheckAssignment verifies an assignment already made against the rules:
// the engineer is active, competent for the category, covers the store and
// was under capacity at the time (loadAtAssign excludes the ticket itself),
// and the store's fixed engineer got it when he was eligible.
func CheckAssignment(d *Directory, obj *Object, category, engineer string, loadAtAssign map[string]int) error {
	if obj == nil {
		return fmt.Errorf("%w: no store", ErrAssignmentInvariant)
	}
	e := d.Engineer(engineer)
	if e == nil {
		return fmt.Errorf("%w: %s/%s: unknown engineer %q", ErrAssignmentInvariant, obj.Client, obj.Code, engineer)
	}
	competence := d.competenceOf(category)
	c := d.evaluate(e, obj, competence, loadAtAssign, false)
	var errs []error
	if !c.Eligible {
		errs = append(errs, fmt.Errorf("%w: %s/%s: engineer %s: %s", ErrAssignmentInvariant, obj.Client, obj.Code, engineer, c.Rejected))
	}
	if obj.Engineer != "" && obj.Engineer != engineer {
		if f := d.Engineer(obj.Engineer); f != nil {
			if fc := d.evaluate(f, obj, competence, loadAtAssign, false); fc.Eligible {
				errs = append(errs, fmt.Errorf("%w: %s/%s: fixed engineer %s was eligible but %s got it", ErrAssignmentInvariant, obj.Client, obj.Code, obj.Engineer, engineer))
			}
		}
	}
	return errors.Join(errs...)
}
