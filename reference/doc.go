// Package reference reads the reference data operations keep in
// spreadsheets and import as CSV files: clients, engineers, stores
// (objects), contacts and categories, the data the routing directory is
// built from.
//
// Parse checks a whole file before anything of it is stored, so that a file
// is imported whole or not at all. Every problem is reported where it is,
// as "FILE:LINE: COLUMN: what is wrong", with the physical line a person
// sees in an editor (a quoted cell may span lines) and up to MaxProblems of
// them, enough to fix a systematic mistake at once. The columns may come in
// any order; a byte-order mark, surrounding spaces, the case of the header
// and trailing rows of empty cells are forgiven. Values are checked the way
// the routing directory will read them: phone numbers as parsers normalizes
// them, store codes by routing.CodeKey (two codes that differ in look-alike
// letters are one store), category keywords as the regular expressions
// they become.
//
// The package is pure: it reads from an io.Reader and decides. Whether the
// clients, engineers and stores a file names exist is for the importer
// (store) to check against the data it already holds.
package reference
