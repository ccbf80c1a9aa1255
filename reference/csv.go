package reference

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"net/mail"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/intakehq/intake/parsers"
	"github.com/intakehq/intake/routing"
)

// Reference data kinds. Kinds lists them in the order a fresh database has
// to be filled: objects name their client and engineer, contacts their
// client and object.
const (
	KindClients    = "clients"
	KindEngineers  = "engineers"
	KindObjects    = "objects"
	KindContacts   = "contacts"
	KindCategories = "categories"
	KindEquipment  = "equipment"
)

// Kinds returns the reference kinds in import order.
func Kinds() []string {
	return []string{KindClients, KindEngineers, KindObjects, KindContacts, KindCategories, KindEquipment}
}

// MaxProblems is how many problems are collected before a file is given up
// on: enough to fix a systematic mistake, few enough to read.
const MaxProblems = 20

// ErrInvalidFile is wrapped by every *FileError: the file is bad input and
// nothing from it was imported; importing it again will not help.
var ErrInvalidFile = errors.New("invalid reference file")

// LineError is one problem in an imported file, at a physical line (the
// header is line 1) and, when it concerns one cell, a column.
type LineError struct {
	File   string
	Line   int
	Column string // "" for a problem with the row as a whole
	Msg    string
}

func (e LineError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Column, e.Msg)
}

// FileError lists the problems that made a file be refused, one per line of
// its message, in file order.
type FileError struct {
	File     string
	Problems []LineError
	// Truncated is set when there were more problems than MaxProblems; the
	// rest of the file was not checked.
	Truncated bool
}

func (e *FileError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.Error())
	}
	if e.Truncated {
		fmt.Fprintf(&b, "\n%s: stopped after %d problems", e.File, len(e.Problems))
	}
	return b.String()
}

func (e *FileError) Unwrap() error { return ErrInvalidFile }

// Refuse returns a *FileError for the problems of file, the first
// MaxProblems of them, or nil when there are none. Checks made outside this
// package (store's, of the rows a file names) report with it.
func Refuse(file string, list []LineError) error {
	p := &problems{file: file}
	for _, le := range list {
		p.add(le.Line, le.Column, "%s", le.Msg)
	}
	return p.err()
}

// problems collects LineErrors up to MaxProblems.
type problems struct {
	file string
	list []LineError
	full bool
}

func (p *problems) add(line int, column, format string, args ...any) {
	if len(p.list) >= MaxProblems {
		p.full = true
		return
	}
	p.list = append(p.list, LineError{File: p.file, Line: line, Column: column, Msg: fmt.Sprintf(format, args...)})
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &FileError{File: p.file, Problems: p.list, Truncated: p.full}
}

// kindInfo describes one reference kind: its CSV columns, which are also the
// table's columns in the same order, and its natural key.
type kindInfo struct {
	kind    string
	columns []string
	key     []string // a subset of columns; the last one is blamed for duplicates
}

var kinds = map[string]*kindInfo{
	KindClients: {
		kind:    KindClients,
		columns: []string{"code", "name", "legal_entities", "domains"},
		key:     []string{"code"},
	},
	KindEngineers: {
		kind:    KindEngineers,
		columns: []string{"code", "name", "email", "phone", "competences", "areas", "lat", "lon", "radius_km", "max_open", "status", "rating"},
		key:     []string{"code"},
	},
	KindObjects: {
		kind:    KindObjects,
		columns: []string{"client", "code", "name", "address", "city", "region", "oktmo", "lat", "lon", "legal_entity", "engineer"},
		key:     []string{"client", "code"},
	},
	KindContacts: {
		kind:    KindContacts,
		columns: []string{"client", "object", "name", "role", "email", "phone"},
		key:     []string{"client", "object", "email"},
	},
	KindCategories: {
		kind:    KindCategories,
		columns: []string{"code", "name", "competence", "sla_hours", "keywords"},
		key:     []string{"code"},
	},
	KindEquipment: {
		kind:    KindEquipment,
		columns: []string{"client", "object", "serial", "model", "kind", "installed", "warranty_until"},
		key:     []string{"client", "serial"},
	},
}

func kindOf(kind string) (*kindInfo, error) {
	k, ok := kinds[kind]
	if !ok {
		return nil, fmt.Errorf("unknown reference kind %q (want one of %s)", kind, strings.Join(Kinds(), ", "))
	}
	return k, nil
}

// Sheet is a validated file: its rows as the routing types and as table
// values in Columns order, with the physical line of each.
type Sheet struct {
	Kind string
	File string
	// Columns are the kind's columns, in the order of each row's Values;
	// they are also the names of the table's columns.
	Columns []string
	Rows    any // []routing.Client, []routing.Object, ...
	Lines   []int
	Values  [][]any
}

// Parse reads and validates a whole reference file of the given kind. The
// sheet's Rows are []routing.Client, []routing.Engineer, []routing.Object,
// []routing.Contact or []routing.Category. name is the file name used in
// messages. Bad input is reported as a *FileError (wrapping ErrInvalidFile)
// listing up to MaxProblems problems as "FILE:LINE: COLUMN: what is wrong".
//
// Only the file itself is checked here; whether the clients, engineers and
// objects it names exist is for the importer to check against the data it
// already holds.
func Parse(kind, name string, r io.Reader) (*Sheet, error) {
	k, err := kindOf(kind)
	if err != nil {
		return nil, err
	}
	switch kind {
	case KindClients:
		sh, err := parseRows(k, name, r, clientRow, clientValues)
		if err == nil {
			err = checkDomains(sh)
		}
		if err != nil {
			return nil, err
		}
		return sh, nil
	case KindEngineers:
		return parseRows(k, name, r, engineerRow, engineerValues)
	case KindObjects:
		return parseRows(k, name, r, objectRow, objectValues)
	case KindContacts:
		return parseRows(k, name, r, contactRow, contactValues)
	case KindEquipment:
		return parseRows(k, name, r, equipmentRow, equipmentValues)
	default:
		return parseRows(k, name, r, categoryRow, categoryValues)
	}
}

// Row is a reference row type.
type Row interface {
	routing.Client | routing.Engineer | routing.Object | routing.Contact | routing.Category | routing.Equipment
}

// SheetOf makes a sheet of rows that were validated before (read back from
// a database, say), to be stored again; their "lines" are their positions.
func SheetOf[T Row](file string, rows []T) *Sheet {
	var zero T
	kind, _ := rowValues(zero)
	sh := &Sheet{Kind: kind, File: file, Columns: kinds[kind].columns, Rows: rows}
	for i, r := range rows {
		_, vals := rowValues(r)
		sh.Lines = append(sh.Lines, i+1)
		sh.Values = append(sh.Values, vals)
	}
	return sh
}

// rowValues returns the kind of a Row and its table values.
func rowValues(r any) (string, []any) {
	switch r := r.(type) {
	case routing.Client:
		return KindClients, clientValues(r)
	case routing.Engineer:
		return KindEngineers, engineerValues(r)
	case routing.Object:
		return KindObjects, objectValues(r)
	case routing.Contact:
		return KindContacts, contactValues(r)
	case routing.Equipment:
		return KindEquipment, equipmentValues(r)
	default:
		return KindCategories, categoryValues(r.(routing.Category))
	}
}

func parseRows[T any](k *kindInfo, file string, r io.Reader, row func(*cells) T, values func(T) []any) (*Sheet, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // counted here, to say which line and how
	p := &problems{file: file}
	parseErr := func(err error) error {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			msg := fmt.Sprintf("malformed CSV: %v (at byte %d of the line)", pe.Err, pe.Column)
			if pe.StartLine != pe.Line {
				msg += fmt.Sprintf(", in the row that starts on line %d", pe.StartLine)
			}
			p.add(pe.Line, "", "%s", msg)
			return p.err()
		}
		return fmt.Errorf("reading %s: %w", file, err)
	}

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		p.add(1, "", "empty file, expected the header %s", strings.Join(k.columns, ","))
		return nil, p.err()
	}
	if err != nil {
		return nil, parseErr(err)
	}
	headerLine, _ := cr.FieldPos(0)
	col, ok := readHeader(k, header, headerLine, p)
	if !ok {
		return nil, p.err()
	}

	sh := &Sheet{Kind: k.kind, File: file, Columns: k.columns}
	var rows []T
	keyIdx := make([]int, len(k.key))
	for i, name := range k.key {
		keyIdx[i] = indexOf(k.columns, name)
	}
	seen := map[string]int{}
	c := &cells{col: col, p: p}
	for !p.full {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, parseErr(err)
		}
		if strings.TrimSpace(strings.Join(rec, "")) == "" {
			continue // spreadsheets export trailing rows of empty cells
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			p.add(line, "", "%d cells, the header has %d", len(rec), len(header))
			continue
		}
		c.rec, c.pos, c.bad = rec, cr.FieldPos, false
		for _, name := range k.columns {
			switch v := rec[col[name]]; {
			case !utf8.ValidString(v):
				c.fail(name, "not valid UTF-8 (save the file as UTF-8)")
			case strings.ContainsRune(v, 0):
				// PostgreSQL cannot store it in text: the file would fail
				// at the database instead of here, with no line to fix.
				c.fail(name, "contains a NUL character")
			}
		}
		if c.bad {
			continue
		}
		t := row(c)
		if c.bad {
			continue
		}
		vals := values(t)
		key := duplicateKey(k, vals, keyIdx)
		if first, dup := seen[key]; dup {
			p.add(c.line(k.key[len(k.key)-1]), k.key[len(k.key)-1], "%s, first on line %d", describeKey(k, vals, keyIdx), first)
			continue
		}
		seen[key] = line
		rows = append(rows, t)
		sh.Lines = append(sh.Lines, line)
		sh.Values = append(sh.Values, vals)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	if rows == nil {
		rows = []T{}
	}
	sh.Rows = rows
	return sh, nil
}

// readHeader maps column names to cell positions. The order of the columns
// does not matter; a missing, unknown or repeated one does.
func readHeader(k *kindInfo, header []string, line int, p *problems) (map[string]int, bool) {
	col := make(map[string]int, len(header))
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // spreadsheet exports start with a BOM
		}
		h = strings.ToLower(strings.TrimSpace(h))
		switch {
		case h == "":
			p.add(line, "", "column %d has no name", i+1)
		case indexOf(k.columns, h) < 0:
			p.add(line, h, "unknown column (%s has %s)", k.kind, strings.Join(k.columns, ","))
		case hasKey(col, h):
			p.add(line, h, "repeated column")
		default:
			col[h] = i
		}
	}
	for _, c := range k.columns {
		if !hasKey(col, c) {
			p.add(line, c, "missing column")
		}
	}
	return col, len(p.list) == 0
}

func hasKey(m map[string]int, k string) bool {
	_, ok := m[k]
	return ok
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// duplicateKey is the natural key of a row as the routing directory compares
// it: object codes that differ only in look-alike letters or separators are
// the same store.
func duplicateKey(k *kindInfo, vals []any, keyIdx []int) string {
	parts := make([]string, len(keyIdx))
	for i, j := range keyIdx {
		s, _ := vals[j].(string)
		if k.kind == KindObjects && k.columns[j] == "code" {
			s = routing.CodeKey(s)
		}
		if k.kind == KindEquipment && k.columns[j] == "serial" {
			s = routing.SerialKey(s)
		}
		parts[i] = s
	}
	return strings.Join(parts, "\x00")
}

// describeKey renders `duplicate "0001" (client "PU")`.
func describeKey(k *kindInfo, vals []any, keyIdx []int) string {
	last := keyIdx[len(keyIdx)-1]
	msg := fmt.Sprintf("duplicate %q", vals[last])
	if len(keyIdx) > 1 {
		var of []string
		for _, j := range keyIdx[:len(keyIdx)-1] {
			of = append(of, fmt.Sprintf("%s %q", k.columns[j], vals[j]))
		}
		msg += " (" + strings.Join(of, ", ") + ")"
	}
	return msg
}

// cells reads and checks the cells of one row, recording each problem at the
// line where its cell starts (a quoted cell may span lines).
type cells struct {
	col map[string]int
	rec []string
	pos func(field int) (line, column int)
	p   *problems
	bad bool
}

func (c *cells) line(column string) int {
	l, _ := c.pos(c.col[column])
	return l
}

func (c *cells) fail(column, format string, args ...any) {
	c.bad = true
	c.p.add(c.line(column), column, format, args...)
}

// text is the trimmed cell.
func (c *cells) text(column string) string {
	return strings.TrimSpace(c.rec[c.col[column]])
}

func (c *cells) required(column string) string {
	v := c.text(column)
	if v == "" {
		c.fail(column, "required, but empty")
	}
	return v
}

// list splits a ;-separated cell; it never returns nil, so that an empty
// list is stored as '{}', not NULL.
func (c *cells) list(column string) []string {
	out := []string{}
	for _, v := range strings.Split(c.text(column), ";") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// number parses a decimal number with a point; an empty cell is 0 unless the
// column is required.
func (c *cells) number(column string, required bool) float64 {
	v := c.text(column)
	if v == "" {
		if required {
			c.fail(column, "required, but empty")
		}
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || strings.ContainsAny(v, "_xXpP") {
		c.fail(column, "%q is not a number", clip(v))
		return 0
	}
	return f
}

func (c *cells) nonNegative(column string, required bool) float64 {
	f := c.number(column, required)
	if f < 0 {
		c.fail(column, "%v is negative", f)
	}
	return f
}

func (c *cells) count(column string) int {
	v := c.text(column)
	if v == "" {
		return 0
	}
	// The column is an integer of PostgreSQL's, 32 bits.
	n, err := strconv.ParseInt(v, 10, 32)
	switch {
	case errors.Is(err, strconv.ErrRange) && strings.HasPrefix(v, "-"):
		c.fail(column, "%s is negative", clip(v))
	case errors.Is(err, strconv.ErrRange):
		c.fail(column, "%s is too large", clip(v))
	case err != nil:
		c.fail(column, "%q is not a whole number", clip(v))
	case n < 0:
		c.fail(column, "%d is negative", n)
	}
	return int(n)
}

// geo reads the lat and lon cells: both or neither.
func (c *cells) geo(required bool) (lat, lon float64, ok bool) {
	latS, lonS := c.text("lat"), c.text("lon")
	switch {
	case latS == "" && lonS == "":
		if required {
			c.fail("lat", "required, but empty")
		}
		return 0, 0, false
	case latS == "":
		c.fail("lat", "empty, but lon is set (give both or neither)")
		return 0, 0, false
	case lonS == "":
		c.fail("lon", "empty, but lat is set (give both or neither)")
		return 0, 0, false
	}
	lat, lon = c.number("lat", true), c.number("lon", true)
	if c.bad {
		return 0, 0, false
	}
	if lat < -90 || lat > 90 {
		c.fail("lat", "%v is out of range -90..90", lat)
	}
	if lon < -180 || lon > 180 {
		c.fail("lon", "%v is out of range -180..180", lon)
	}
	return lat, lon, true
}

// email returns the lower-cased address; an empty cell is "".
func (c *cells) email(column string) string {
	v := strings.ToLower(c.text(column))
	if v == "" {
		return ""
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" {
		c.fail(column, "%q is not an email address", clip(v))
	}
	return v
}

// phone keeps the number as written, once the routing directory can read it.
func (c *cells) phone(column string) string {
	v := c.text(column)
	if v != "" && parsers.NormalizePhone(v) == "" {
		c.fail(column, "%q is not a valid phone number", clip(v))
	}
	return v
}

// oktmo checks an OKTMO code (or, for areas, a prefix of one).
func (c *cells) oktmo(column, v string) {
	if v == "" {
		return
	}
	for _, r := range v {
		if r < '0' || r > '9' {
			c.fail(column, "%q is not an OKTMO code (digits only)", clip(v))
			return
		}
	}
}

func clip(s string) string {
	if utf8.RuneCountInString(s) <= 60 {
		return s
	}
	return string([]rune(s)[:60]) + "…"
}

func clientRow(c *cells) routing.Client {
	cl := routing.Client{
		Code:          c.required("code"),
		Name:          c.required("name"),
		LegalEntities: c.list("legal_entities"),
		Domains:       c.list("domains"),
	}
	for i, d := range cl.Domains {
		d = strings.ToLower(d)
		if strings.ContainsAny(d, "@ /:") || !strings.Contains(d, ".") {
			c.fail("domains", "%q is not a domain name", clip(d))
		}
		cl.Domains[i] = d
	}
	return cl
}

// checkDomains refuses a domain listed for two clients: mail from it could
// not be told apart, and the routing directory rejects such data.
func checkDomains(sh *Sheet) error {
	p := &problems{file: sh.File}
	type owner struct {
		client string
		line   int
	}
	seen := map[string]owner{}
	for i, c := range sh.Rows.([]routing.Client) {
		for _, d := range c.Domains {
			if o, dup := seen[d]; dup && o.client != c.Code {
				p.add(sh.Lines[i], "domains", "%q is already a domain of client %q (line %d)", d, o.client, o.line)
				continue
			}
			seen[d] = owner{c.Code, sh.Lines[i]}
		}
	}
	return p.err()
}

func clientValues(c routing.Client) []any {
	return []any{c.Code, c.Name, c.LegalEntities, c.Domains}
}

var engineerStatuses = []string{routing.EngineerActive, routing.EngineerPending, routing.EngineerBlacklisted}

func engineerRow(c *cells) routing.Engineer {
	e := routing.Engineer{
		Code:        c.required("code"),
		Name:        c.required("name"),
		Email:       c.email("email"),
		Phone:       c.phone("phone"),
		Competences: c.list("competences"),
		Areas:       c.list("areas"),
		RadiusKm:    c.nonNegative("radius_km", false),
		MaxOpen:     c.count("max_open"),
		Status:      strings.ToLower(c.required("status")),
		Rating:      c.nonNegative("rating", false),
	}
	// routing.Engineer cannot say "location unknown": an engineer without
	// coordinates would be placed at 0,0.
	e.Lat, e.Lon, _ = c.geo(true)
	for _, a := range e.Areas {
		c.oktmo("areas", a)
	}
	if e.Status != "" && indexOf(engineerStatuses, e.Status) < 0 {
		c.fail("status", "%q is not one of %s", clip(e.Status), strings.Join(engineerStatuses, ", "))
	}
	return e
}

func engineerValues(e routing.Engineer) []any {
	return []any{e.Code, e.Name, e.Email, e.Phone, e.Competences, e.Areas, e.Lat, e.Lon, e.RadiusKm, int32(e.MaxOpen), e.Status, e.Rating}
}

func objectRow(c *cells) routing.Object {
	o := routing.Object{
		Client:      c.required("client"),
		Code:        c.required("code"),
		Name:        c.text("name"),
		Address:     c.text("address"),
		City:        c.text("city"),
		Region:      c.text("region"),
		OKTMO:       c.text("oktmo"),
		LegalEntity: c.text("legal_entity"),
		Engineer:    c.text("engineer"),
	}
	c.oktmo("oktmo", o.OKTMO)
	o.Lat, o.Lon, o.HasGeo = c.geo(false)
	return o
}

func objectValues(o routing.Object) []any {
	var lat, lon any // NULL without coordinates
	if o.HasGeo {
		lat, lon = o.Lat, o.Lon
	}
	return []any{o.Client, o.Code, o.Name, o.Address, o.City, o.Region, o.OKTMO, lat, lon, o.LegalEntity, o.Engineer}
}

func contactRow(c *cells) routing.Contact {
	ct := routing.Contact{
		Client: c.required("client"),
		Object: c.text("object"),
		Name:   c.text("name"),
		Role:   c.text("role"),
		Email:  c.email("email"),
		Phone:  c.phone("phone"),
	}
	if ct.Email == "" && ct.Phone == "" && !c.bad {
		c.fail("email", "required when there is no phone")
	}
	return ct
}

func contactValues(c routing.Contact) []any {
	return []any{c.Client, c.Object, c.Name, c.Role, c.Email, c.Phone}
}

func categoryRow(c *cells) routing.Category {
	cat := routing.Category{
		Code:       c.required("code"),
		Name:       c.required("name"),
		Competence: c.required("competence"),
		SLAHours:   c.number("sla_hours", true),
		Keywords:   c.text("keywords"),
	}
	if cat.SLAHours <= 0 && c.text("sla_hours") != "" && !c.bad {
		c.fail("sla_hours", "%v is not a positive number of hours", cat.SLAHours)
	}
	// Compiled the way the routing directory compiles it.
	if cat.Keywords != "" {
		if _, err := regexp.Compile("(?i)" + cat.Keywords); err != nil {
			var re *syntax.Error
			msg := err.Error()
			if errors.As(err, &re) {
				msg = fmt.Sprintf("%s: `%s`", re.Code, re.Expr)
			}
			c.fail("keywords", "not a regular expression: %s", msg)
		}
	}
	return cat
}

func categoryValues(c routing.Category) []any {
	return []any{c.Code, c.Name, c.Competence, c.SLAHours, c.Keywords}
}

func equipmentRow(c *cells) routing.Equipment {
	e := routing.Equipment{
		Client:        c.required("client"),
		Object:        c.required("object"),
		Serial:        c.required("serial"),
		Model:         c.text("model"),
		Kind:          c.required("kind"),
		Installed:     c.date("installed", true),
		WarrantyUntil: c.date("warranty_until", false),
	}
	if e.Serial != "" && len(routing.SerialKey(e.Serial)) < 4 {
		c.fail("serial", "%q is too short to be found in messages (at least 4 letters or digits)", clip(e.Serial))
	} else if e.Serial != "" && !strings.ContainsFunc(e.Serial, func(r rune) bool { return r >= '0' && r <= '9' }) {
		c.fail("serial", "%q has no digit: it could not be told from a word", clip(e.Serial))
	}
	if e.Installed != "" && e.WarrantyUntil != "" && e.WarrantyUntil < e.Installed {
		c.fail("warranty_until", "%s is before the installation date %s", e.WarrantyUntil, e.Installed)
	}
	return e
}

func equipmentValues(e routing.Equipment) []any {
	return []any{e.Client, e.Object, e.Serial, e.Model, e.Kind, e.Installed, e.WarrantyUntil}
}

// date checks a YYYY-MM-DD cell and returns it; "" when empty.
func (c *cells) date(column string, required bool) string {
	v := c.text(column)
	if v == "" {
		if required {
			c.fail(column, "required, but empty")
		}
		return ""
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		c.fail(column, "%q is not a date YYYY-MM-DD", clip(v))
		return ""
	}
	return v
}
