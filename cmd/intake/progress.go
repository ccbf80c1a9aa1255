package main

import (
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// newProgress returns a progress callback that draws a bar on out when out is
// a terminal and does nothing otherwise, so that piped or logged output holds
// only the summary line. total may be 0 when it is not known yet: the bar is
// sized by the totals the callback is given.
func newProgress(out *os.File, total int, desc string) func(done, total int) {
	if !term.IsTerminal(int(out.Fd())) {
		return func(int, int) {}
	}
	var bar *progressbar.ProgressBar
	return func(done, n int) {
		if n <= 0 {
			return // the bar cannot show an empty file
		}
		if bar == nil {
			if total <= 0 {
				total = n
			}
			bar = progressbar.NewOptions(total,
				progressbar.OptionSetWriter(out),
				progressbar.OptionSetDescription(desc),
				progressbar.OptionShowCount(),
				progressbar.OptionSetWidth(30),
				progressbar.OptionThrottle(50*time.Millisecond),
				progressbar.OptionClearOnFinish(), // the summary line follows
			)
		}
		if n != total {
			total = n
			bar.ChangeMax(n)
		}
		bar.Set(min(done, n)) //nolint:errcheck // drawing only
	}
}
