// Package learn proposes a chain's format (the YAML of package rules) from a
// handful of its notifications.
//
// It knows what a template tool does not: the client's store codes and
// addresses (package routing's directory), our categories with their names
// and keywords, the usual words for priorities and events, the date forms
// of package parsers. It reads the samples through parsers.Document and the
// real extractors, so a proposed field is one Intake can read: each slot (a
// "label: value" line, a table cell, a path in a JSON or XML attachment) is
// read from every sample, and a field goes to the slot whose values look
// like that field in most samples. Each choice carries its evidence and how
// many samples agree, written as YAML comments for the person who checks it.
//
// Labelled samples (what each should become) make the choice exact; without
// them only the reference data and the vocabulary decide.
//
// Evaluate measures a format on labelled mail without a database: it picks
// the format by its match expression, extracts, matches the store with the
// directory and follows an order's updates by its number, as the pipeline
// does.
//
// The package does no I/O: samples and reference data are given to it.
package learn
