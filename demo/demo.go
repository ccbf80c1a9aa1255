// Package demo is the sample data of `intake demo` and of the integration
// tests: reference CSVs and a mailbox of about forty messages with labels,
// all fictional and made by Generate from a fixed seed.
//
// The mail imitates what each client's service desk sends (Remedy,
// ServiceNow, Naumen, Jira, 1С:Итилиум, an XML document system), store
// directors' own letters and replies, and the noise a real mailbox gets:
// a re-delivered duplicate, an out-of-office reply, a bounce, a newsletter
// and a request whose store cannot be told. mail/labels.jsonl says what
// each message should become, in the schema of the shared test corpus.
//
// The files are embedded so the demo runs on a fresh machine; rewrite them
// with `go run ./demo/gen` after changing the generator.
package demo

import (
	"embed"
	"io/fs"
	"path"
)

//go:embed clients.csv engineers.csv objects.csv contacts.csv categories.csv equipment.csv mail/*.eml mail/labels.jsonl
var files embed.FS

// File is one embedded file: its base name and contents.
type File struct {
	Name string
	Data []byte
}

// referenceOrder is the import order: objects name engineers, contacts
// name objects, equipment names objects and categories.
var referenceOrder = []string{"clients.csv", "engineers.csv", "objects.csv", "contacts.csv", "categories.csv", "equipment.csv"}

// Reference returns the master data CSVs in import order.
func Reference() []File {
	out := make([]File, 0, len(referenceOrder))
	for _, name := range referenceOrder {
		out = append(out, File{Name: name, Data: mustRead(name)})
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

func mustRead(name string) []byte {
	b, err := files.ReadFile(name)
	if err != nil {
		panic(err) // the embed pattern guarantees the file
	}
	return b
}
