package parsers

import (
	"strings"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

type htmlRendering struct {
	text   string
	tables [][][]string
}

// renderHTML turns an HTML body into text: blocks and <br> become line
// breaks, a table row of two cells becomes "label: value", a wider row its
// cells joined by " | ", a definition list's <dt> and the <dd> right after
// it become "label: value" as a two-cell row does, and a link keeps its target in angle brackets when
// the target is not already its text. It also returns the data tables (those
// without tables nested in them) as rows of trimmed cell text.
func renderHTML(src string) htmlRendering {
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(src))
	if err != nil {
		return htmlRendering{text: src}
	}
	var r htmlRendering
	doc.Find("table").Each(func(_ int, t *goquery.Selection) {
		if t.Find("table").Length() > 0 {
			return // layout table: its inner tables are listed themselves
		}
		var rows [][]string
		for _, tr := range tableRows(t.Nodes[0]) {
			cells := rowCells(tr)
			var row []string
			empty := true
			for _, c := range cells {
				s := inlineText(c)
				if s != "" {
					empty = false
				}
				row = append(row, s)
			}
			if !empty {
				rows = append(rows, row)
			}
		}
		if len(rows) > 0 {
			r.tables = append(r.tables, rows)
		}
	})
	var b textBuilder
	for _, n := range doc.Nodes {
		b.node(n, false)
	}
	r.text = b.String()
	return r
}

// tableRows lists the rows of table t, not of tables nested in it.
func tableRows(t *html.Node) []*html.Node {
	var rows []*html.Node
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type != html.ElementNode {
				continue
			}
			switch c.DataAtom {
			case atom.Tr:
				rows = append(rows, c)
			case atom.Thead, atom.Tbody, atom.Tfoot:
				walk(c)
			}
		}
	}
	walk(t)
	return rows
}

func rowCells(tr *html.Node) []*html.Node {
	var cells []*html.Node
	for c := tr.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && (c.DataAtom == atom.Td || c.DataAtom == atom.Th) {
			cells = append(cells, c)
		}
	}
	return cells
}

func hasTable(n *html.Node) bool {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && c.DataAtom == atom.Table || hasTable(c) {
			return true
		}
	}
	return false
}

// inlineText is the text of n on one line, whitespace collapsed.
func inlineText(n *html.Node) string {
	var b textBuilder
	b.children(n, false)
	return strings.Join(strings.Fields(b.String()), " ")
}

var blockAtoms = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true,
	atom.H5: true, atom.H6: true, atom.Ul: true, atom.Ol: true, atom.Li: true, atom.Blockquote: true,
	atom.Section: true, atom.Article: true, atom.Header: true, atom.Footer: true, atom.Pre: true,
	atom.Hr: true, atom.Form: true, atom.Center: true, atom.Address: true, atom.Dl: true,
	atom.Dt: true, atom.Dd: true, atom.Table: true, atom.Tr: true, atom.Body: true, atom.Html: true,
	atom.Main: true, atom.Nav: true, atom.Aside: true, atom.Figure: true, atom.Caption: true,
}

type textBuilder struct {
	strings.Builder
	space bool // a collapsed space is pending
}

func (b *textBuilder) newline() {
	b.space = false
	s := b.String()
	if s == "" || strings.HasSuffix(s, "\n") {
		return
	}
	b.WriteByte('\n')
}

func (b *textBuilder) text(s string, pre bool) {
	if pre {
		b.WriteString(s)
		return
	}
	for _, r := range s {
		if isHTMLSpace(r) {
			b.space = true
			continue
		}
		if b.space {
			if cur := b.String(); cur != "" && !strings.HasSuffix(cur, "\n") && !strings.HasSuffix(cur, " ") {
				b.WriteByte(' ')
			}
			b.space = false
		}
		b.WriteRune(r)
	}
}

func isHTMLSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f'
}

func (b *textBuilder) children(n *html.Node, pre bool) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.node(c, pre)
	}
}

func (b *textBuilder) node(n *html.Node, pre bool) {
	switch n.Type {
	case html.TextNode:
		b.text(n.Data, pre)
		return
	case html.DocumentNode:
		b.children(n, pre)
		return
	case html.ElementNode:
	default:
		return
	}
	switch n.DataAtom {
	case atom.Script, atom.Style, atom.Head, atom.Title, atom.Noscript, atom.Template:
		return
	case atom.Br:
		b.WriteByte('\n')
		b.space = false
		return
	case atom.Img:
		return
	case atom.Table:
		b.newline()
		b.table(n)
		b.newline()
		return
	case atom.Dt:
		// A service desk's card as <dl>: "term: definition" on one line,
		// so that labels extractors read it like a two-cell table row.
		if dd := nextElement(n); dd != nil && dd.DataAtom == atom.Dd {
			if term := inlineText(n); term != "" {
				b.newline()
				b.WriteString(strings.TrimRight(term, ":") + ": ")
				b.space = false
				return
			}
		}
	case atom.Dd:
		if dt := prevElement(n); dt != nil && dt.DataAtom == atom.Dt && inlineText(dt) != "" && !b.atLineStart() {
			var v textBuilder
			v.children(n, pre)
			b.WriteString(strings.TrimSpace(v.String()))
			b.newline()
			return
		}
	case atom.A:
		before := b.Len()
		b.children(n, pre)
		label := strings.TrimSpace(b.String()[before:])
		href := strings.TrimSpace(attr(n, "href"))
		if (strings.HasPrefix(href, "http://") || strings.HasPrefix(href, "https://")) && href != label {
			b.WriteString(" <" + href + ">")
			b.space = false
		}
		return
	}
	block := blockAtoms[n.DataAtom]
	if block {
		b.newline()
	}
	if n.DataAtom == atom.Li {
		b.WriteString("- ")
	}
	b.children(n, pre || n.DataAtom == atom.Pre)
	if block {
		b.newline()
		if n.DataAtom == atom.P {
			b.WriteByte('\n')
		}
	}
}

func (b *textBuilder) table(t *html.Node) {
	for _, tr := range tableRows(t) {
		cells := rowCells(tr)
		nested := false
		for _, c := range cells {
			if hasTable(c) {
				nested = true
			}
		}
		var texts []string
		for _, c := range cells {
			if s := inlineText(c); s != "" {
				texts = append(texts, s)
			}
		}
		switch {
		case len(texts) == 0:
		case nested || len(texts) == 1:
			// Layout rows: render the cells as blocks.
			for _, c := range cells {
				b.newline()
				b.children(c, false)
				b.newline()
			}
		case len(texts) == 2:
			b.WriteString(strings.TrimRight(strings.TrimSpace(texts[0]), ":") + ": " + texts[1])
			b.newline()
		default:
			b.WriteString(strings.Join(texts, " | "))
			b.newline()
		}
	}
}

func nextElement(n *html.Node) *html.Node {
	for c := n.NextSibling; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode {
			return c
		}
	}
	return nil
}

func prevElement(n *html.Node) *html.Node {
	for c := n.PrevSibling; c != nil; c = c.PrevSibling {
		if c.Type == html.ElementNode {
			return c
		}
	}
	return nil
}

func (b *textBuilder) atLineStart() bool {
	s := b.String()
	return s == "" || strings.HasSuffix(s, "\n")
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
