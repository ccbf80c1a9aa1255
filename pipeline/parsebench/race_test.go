//go:build race

package parsebench

const raceEnabled = true
