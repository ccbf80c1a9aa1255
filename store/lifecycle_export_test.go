package store

// SetAfterTimer installs a function run after each timer's effect, before
// the commit: returning an error there is a crash at the worst moment.
func SetAfterTimer(l *Lifecycle, f func(TimerRow) error) { l.afterTimer = f }
