// Package newchain is a chain Intake has never been told about in code:
// Сеть «Зелёный Твист» (client ZT), whose service desk, HelpDeskPro, sends
// HTML notifications with the order's card as a definition list. It is the
// worked example of docs/formats.md and the fixture of the onboarding test:
// the chain is onboarded with zt.yaml alone.
//
// Generate builds the reference CSVs (the client, its stores, directors and
// engineers; the categories are the demo's), about twenty mails (new orders,
// status changes, closures, a cancellation, a comment, directors' own
// letters, forwards and a re-delivery) and mail/labels.jsonl in the schema
// of the shared test corpus. The output is embedded; rewrite it with
// `go run ./testdata/newchain/gen` after changing the generator.
package newchain

import (
	"embed"
	"io/fs"
	"path"
)

//go:embed zt.yaml reference/*.csv mail/*.eml mail/labels.jsonl
var files embed.FS

// File is one embedded file: its base name and contents.
type File struct {
	Name string
	Data []byte
}

// referenceOrder is the import order: objects name engineers, contacts
// name objects.
var referenceOrder = []string{"clients.csv", "engineers.csv", "objects.csv", "contacts.csv", "categories.csv"}

// Reference returns the chain's master data CSVs in import order.
func Reference() []File {
	out := make([]File, 0, len(referenceOrder))
	for _, name := range referenceOrder {
		out = append(out, File{Name: name, Data: mustRead("reference/" + name)})
	}
	return out
}

// Mail returns the messages in delivery order (file order).
func Mail() []File {
	entries, err := fs.ReadDir(files, "mail")
	if err != nil {
		panic(err)
	}
	var out []File
	for _, e := range entries { // ReadDir sorts by name
		if path.Ext(e.Name()) == ".eml" {
			out = append(out, File{Name: e.Name(), Data: mustRead("mail/" + e.Name())})
		}
	}
	return out
}

// Labels returns mail/labels.jsonl: one JSON object per message, in order.
func Labels() []byte { return mustRead("mail/labels.jsonl") }

// Rules returns zt.yaml, the chain's format and rules as operations wrote
// them following docs/rules.md.
func Rules() []byte { return mustRead("zt.yaml") }

func mustRead(name string) []byte {
	b, err := files.ReadFile(name)
	if err != nil {
		panic(err) // the embed pattern guarantees the file
	}
	return b
}
