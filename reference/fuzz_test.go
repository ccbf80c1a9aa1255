package reference_test

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/intakehq/intake/reference"
	"github.com/intakehq/intake/routing"
)

// FuzzImport feeds Parse whatever a spreadsheet could export. A file is
// either refused with problems that name it and lines it has, or accepted
// with rows that PostgreSQL can store (valid UTF-8 without NUL, integers in
// range) and that the routing directory accepts in turn.
func FuzzImport(f *testing.F) {
	kinds := reference.Kinds()
	for i, kind := range kinds {
		f.Add(uint8(i), []byte(testFile(f, kind)))
	}
	f.Add(uint8(0), []byte("\ufeffDomains,code, name ,legal_entities\r\nx.ru;Y.ru,AA,Имя,ООО «А»\r\n,,,\r\n"))
	f.Add(uint8(2), []byte("client,code,name,address,city,region,oktmo,lat,lon,legal_entity,engineer\nPL,ГМ-001,a,\"b\nc\",,,,1e2,-5,,\n"))
	f.Add(uint8(4), []byte("code,name,competence,sla_hours,keywords\nhvac,a,b,0x10,(?P<x>a)\n"))
	f.Fuzz(func(t *testing.T, k uint8, data []byte) {
		kind := kinds[int(k)%len(kinds)]
		sh, err := reference.Parse(kind, kind+".csv", bytes.NewReader(data))
		lines := bytes.Count(data, []byte("\n")) + 1
		if err != nil {
			checkRefusal(t, kind+".csv", err, lines)
			return
		}
		checkSheet(t, sh, lines)
	})
}

func checkRefusal(t *testing.T, file string, err error, lines int) {
	var fe *reference.FileError
	if !errors.As(err, &fe) || !errors.Is(err, reference.ErrInvalidFile) {
		t.Fatalf("refused without a *FileError: %v", err)
	}
	if len(fe.Problems) == 0 || len(fe.Problems) > reference.MaxProblems {
		t.Fatalf("%d problems", len(fe.Problems))
	}
	prev := 0
	for _, p := range fe.Problems {
		if p.File != file || p.Line < 1 || p.Line > lines || p.Msg == "" {
			t.Fatalf("problem %+v of a file of %d lines", p, lines)
		}
		if p.Line < prev {
			t.Fatalf("problems out of line order: %v", err)
		}
		prev = p.Line
		if !utf8.ValidString(p.Error()) {
			t.Fatalf("message is not UTF-8: %q", p.Error())
		}
	}
}

func checkSheet(t *testing.T, sh *reference.Sheet, lines int) {
	if len(sh.Lines) != len(sh.Values) {
		t.Fatalf("%d lines, %d values", len(sh.Lines), len(sh.Values))
	}
	prev := 1
	for i, vals := range sh.Values {
		if sh.Lines[i] <= prev || sh.Lines[i] > lines {
			t.Fatalf("row %d at line %d (after %d, of %d)", i, sh.Lines[i], prev, lines)
		}
		prev = sh.Lines[i]
		if len(vals) != len(sh.Columns) {
			t.Fatalf("row %d: %d values for %d columns", i, len(vals), len(sh.Columns))
		}
		for j, v := range vals {
			checkValue(t, sh.Columns[j], v)
		}
	}
	switch rows := sh.Rows.(type) {
	case []routing.Client:
		checkDirectory(t, rows, nil, nil, nil, nil)
	case []routing.Engineer:
		for _, e := range rows {
			if e.MaxOpen < 0 || e.MaxOpen > math.MaxInt32 {
				t.Fatalf("max_open %d does not fit the column", e.MaxOpen)
			}
		}
		checkDirectory(t, nil, nil, rows, nil, nil)
	case []routing.Object:
		checkDirectory(t, clientsOf(rows), rows, engineersOf(rows), nil, nil)
	case []routing.Contact:
		var objects []routing.Object
		seen := map[string]bool{}
		for _, c := range rows {
			if c.Object != "" && !seen[c.Client+"\x00"+routing.CodeKey(c.Object)] {
				seen[c.Client+"\x00"+routing.CodeKey(c.Object)] = true
				objects = append(objects, routing.Object{Client: c.Client, Code: c.Object})
			}
		}
		clients := clientsOf(objects)
		for _, c := range rows {
			clients = append(clients, routing.Client{Code: c.Client})
		}
		checkDirectory(t, uniqueClients(clients), objects, nil, rows, nil)
	case []routing.Category:
		checkDirectory(t, nil, nil, nil, nil, rows)
	case []routing.Equipment:
		for _, e := range rows {
			if len(routing.SerialKey(e.Serial)) < 4 {
				t.Fatalf("serial %q accepted: too short to find", e.Serial)
			}
		}
	default:
		t.Fatalf("rows of type %T", sh.Rows)
	}
}

// checkValue checks a value as PostgreSQL will take it: text is UTF-8
// without NUL, numbers are finite.
func checkValue(t *testing.T, column string, v any) {
	switch v := v.(type) {
	case nil, int32:
	case string:
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			t.Fatalf("%s: %q cannot be stored as text", column, v)
		}
	case []string:
		for _, s := range v {
			checkValue(t, column, s)
		}
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("%s: %v", column, v)
		}
	default:
		t.Fatalf("%s: value of type %T", column, v)
	}
}

// checkDirectory builds a routing directory of the rows, with the clients
// and engineers they name.
func checkDirectory(t *testing.T, clients []routing.Client, objects []routing.Object, engineers []routing.Engineer, contacts []routing.Contact, categories []routing.Category) {
	if _, err := routing.NewDirectory(clients, objects, engineers, contacts, categories); err != nil {
		t.Fatalf("the directory refuses an accepted file: %v", err)
	}
}

func clientsOf(objects []routing.Object) []routing.Client {
	var out []routing.Client
	for _, o := range objects {
		out = append(out, routing.Client{Code: o.Client})
	}
	return uniqueClients(out)
}

func uniqueClients(list []routing.Client) []routing.Client {
	seen := map[string]bool{}
	var out []routing.Client
	for _, c := range list {
		if !seen[c.Code] {
			seen[c.Code] = true
			out = append(out, c)
		}
	}
	return out
}

func engineersOf(objects []routing.Object) []routing.Engineer {
	seen := map[string]bool{}
	var out []routing.Engineer
	for _, o := range objects {
		if o.Engineer != "" && !seen[o.Engineer] {
			seen[o.Engineer] = true
			out = append(out, routing.Engineer{Code: o.Engineer})
		}
	}
	return out
}
