// Package defaults holds the rule set shipped with Intake: one format per
// chain whose notifications we know (formats/*.yaml) and generic rules
// (rules.yaml) that end each stage with an explicit default.
//
// Load them after the operations' own files, so that specific rules run
// first:
//
//	set, err := rules.Load(append(own, defaults.Files()...))
package defaults

import (
	"embed"
	"io/fs"

	"github.com/intakehq/intake/rules"
)

//go:embed *.yaml formats/*.yaml
var files embed.FS

// Files returns the shipped files: the formats by file name, then
// rules.yaml. Names are the paths in the repository, as errors show them.
func Files() []rules.File {
	var out []rules.File
	for _, pattern := range []string{"formats/*.yaml", "*.yaml"} {
		names, err := fs.Glob(files, pattern)
		if err != nil {
			panic(err) // the patterns are constants
		}
		for _, name := range names {
			data, err := files.ReadFile(name)
			if err != nil {
				panic(err) // embedded: cannot fail
			}
			out = append(out, rules.File{Name: "rules/defaults/" + name, Data: data})
		}
	}
	return out
}
