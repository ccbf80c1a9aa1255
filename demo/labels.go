package demo

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Label is one line of a labels.jsonl file, the schema of the shared test
// corpus: what a message should become. Fields the message does not give
// are null. The sample mailbox's labels (Labels), the test-only sample
// chain's and the corpus that `intake eval` scores are all written in it.
type Label struct {
	File       string  `json:"file"`
	Kind       string  `json:"kind"`
	Client     *string `json:"client"`
	ExternalID *string `json:"external_id"`
	Object     *string `json:"object"`
	Category   *string `json:"category"`
	Priority   *string `json:"priority"`
	Due        *string `json:"due"`
	Follows    *string `json:"follows"`
	Note       string  `json:"note"`
}

// ParseLabels reads a labels.jsonl, one Label a line, skipping blank lines.
// name is the file's name, which an error shows with the line:
// "labels.jsonl:3: ...".
func ParseLabels(name string, r io.Reader) ([]Label, error) {
	var out []Label
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var l Label
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// SampleLabels returns the labels of the sample mailbox (Labels), in
// order.
func SampleLabels() []Label {
	ls, err := ParseLabels("mail/labels.jsonl", strings.NewReader(string(Labels())))
	if err != nil {
		panic(err) // embedded and generated; the tests read it
	}
	return ls
}
