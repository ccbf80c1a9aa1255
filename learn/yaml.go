package learn

import (
	"bytes"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/intakehq/intake/parsers"
)

// YAML writes the proposal as a formats file in the schema of
// rules/defaults/formats, each key with its evidence as a comment.
func (p *Proposal) YAML() ([]byte, error) {
	var doc yaml.Node
	if err := doc.Encode(struct {
		Formats []parsers.FormatSpec `yaml:"formats"`
	}{[]parsers.FormatSpec{p.Spec}}); err != nil {
		return nil, err
	}
	head := []string{
		fmt.Sprintf("Proposed by `intake formats learn` from %d samples of client %s.", p.Samples, p.Spec.Client),
		"Each key says what the samples showed. Check by hand before applying:",
		"the match against the chain's other mail, the priority and category maps, the events.",
	}
	for _, u := range p.Unsure {
		head = append(head, "CHECK: "+u)
	}
	doc.HeadComment = comment(head)
	formats := valueOf(&doc, "formats")
	if formats == nil || len(formats.Content) != 1 {
		return nil, fmt.Errorf("encoding the proposal: no format")
	}
	f := formats.Content[0]
	for i := 0; i+1 < len(f.Content); i += 2 {
		k, v := f.Content[i], f.Content[i+1]
		if e := p.Evidence[k.Value]; e != "" {
			k.HeadComment = comment([]string{e})
		}
		if k.Value == "fields" {
			for j := 0; j+1 < len(v.Content); j += 2 {
				fk, fv := v.Content[j], v.Content[j+1]
				if e := p.Evidence["fields."+fk.Value]; e != "" {
					fk.HeadComment = comment([]string{e})
				}
				// One extractor is written as a mapping, as people do.
				if fv.Kind == yaml.SequenceNode && len(fv.Content) == 1 {
					fv = fv.Content[0]
					v.Content[j+1] = fv
				}
				flowLists(fv)
			}
		}
		if k.Value == "match" {
			v.Style = yaml.LiteralStyle
			if !strings.Contains(v.Value, "\n") {
				v.Style = yaml.DoubleQuotedStyle
			}
		}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	enc.Close()
	return b.Bytes(), nil
}

// comment wraps lines at about 100 characters, each prefixed with "# ".
func comment(lines []string) string {
	var out []string
	for _, l := range lines {
		words := strings.Fields(l)
		cur := ""
		for _, w := range words {
			if cur != "" && len([]rune(cur))+1+len([]rune(w)) > 96 {
				out = append(out, "# "+cur)
				cur = "  " + w
				continue
			}
			if cur == "" {
				cur = w
			} else {
				cur += " " + w
			}
		}
		if cur != "" {
			out = append(out, "# "+cur)
		}
	}
	return strings.Join(out, "\n")
}

func valueOf(doc *yaml.Node, key string) *yaml.Node {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// flowLists writes lists of labels as [A, B].
func flowLists(n *yaml.Node) {
	for _, c := range n.Content {
		if c.Kind == yaml.SequenceNode && len(c.Content) > 0 && c.Content[0].Kind == yaml.ScalarNode {
			c.Style = yaml.FlowStyle
			continue
		}
		flowLists(c)
	}
}
