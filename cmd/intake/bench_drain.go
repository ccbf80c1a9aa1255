package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/intakehq/intake/clock"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/store"
)

// runDrain stores n sample messages in the inbox, as `intake ingest` does
// while no server runs, then starts the server and times it from its start
// to the last outcome: the rate at which a stored backlog is drained.
func (b *e2eBench) runDrain(ctx context.Context, n int) error {
	msgs := sampleMessages(n)
	pipe := pipeline.New(pipeline.Config{Bus: b.cfg.Bus.Kind, NATSURL: b.cfg.Bus.NATSURL, NATSPrefix: b.cfg.Bus.NATSPrefix}, b.st, nil, newLogger(LogConfig{Level: "error", Format: "text"}, b.stderr))
	if err := pipeline.InitSchema(ctx, b.st.Pool, nil); err != nil {
		return err
	}
	in := ingest.NewInbox(b.st, pipe.Publish, clock.Wall)
	const perTx = 100 // as `intake ingest` and a mailbox fetch store them
	var size int
	for i := 0; i < len(msgs); i += perTx {
		var batch []ingest.Item
		for j, raw := range msgs[i:min(i+perTx, len(msgs))] {
			key, mid := ingest.MailKeys(raw)
			batch = append(batch, ingest.Item{
				Source: flow.SourceMail, SourceRef: fmt.Sprintf("bench/drain/%d", i+j),
				DedupKey: key, MessageID: mid, Raw: raw,
			})
			size += len(raw)
		}
		if _, err := in.Put(ctx, batch, nil); err != nil {
			return err
		}
	}
	b.say("inbox: %d sample messages (%.1f MB) stored before the start", n, float64(size)/1e6)
	b.printSettings()

	var t0 time.Time // the database's clock, which stamps the outcomes
	if err := b.st.Pool.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&t0); err != nil {
		return err
	}
	stmts0, trips0 := b.counter.Totals()
	if b.cpuProfile != "" {
		f, err := os.Create(b.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	meter := newCPUMeter(b.st)
	mctx, mstop := context.WithCancel(ctx)
	go meter.watch(mctx)
	_, stop, err := b.start(ctx)
	if err != nil {
		mstop()
		return err
	}
	waitErr := waitForOutcomes(ctx, b.st, n, time.Until(deadlineOf(ctx)))
	self, pg, pgOK := meter.report()
	stmts, trips := b.counter.Totals()
	mstop()
	if err := stop(); err != nil && waitErr == nil {
		waitErr = err
	}
	if waitErr != nil {
		return waitErr
	}
	spans, err := b.st.DoneSpans(ctx)
	if err != nil {
		return err
	}
	var lastOut time.Time
	for _, sp := range spans {
		lastOut = maxTime(lastOut, sp.Done)
	}
	wall := lastOut.Sub(t0)
	b.say("messages: %d", len(spans))
	b.say("wall time: %.2f s from the server's start to the last outcome", wall.Seconds())
	b.say("throughput: %.1f msg/s", float64(len(spans))/wall.Seconds())
	per := func(d time.Duration) float64 { return d.Seconds() * 1000 / float64(len(spans)) }
	if pgOK {
		b.say("CPU: intake %.2f s, PostgreSQL backends %.2f s; per message %.2f ms + %.2f ms = %.2f ms (a rate of %.0f msg/s if every core of this machine did nothing else)",
			self.Seconds(), pg.Seconds(), per(self), per(pg), per(self+pg), float64(runtime.NumCPU())*1000/per(self+pg))
	} else {
		b.say("CPU: intake %.2f s, %.2f ms per message (PostgreSQL's backends are not on this machine or not readable)", self.Seconds(), per(self))
	}
	b.say("SQL: %.1f statements and %.1f round trips per message", float64(stmts-stmts0)/float64(len(spans)), float64(trips-trips0)/float64(len(spans)))
	for _, s := range b.counter.Top(b.top) {
		b.say("  %6d calls %8.1f ms  %s", s.Calls, s.Time.Seconds()*1000, clipMiddle(s.SQL, 200))
	}
	if err := b.printOutcomes(ctx); err != nil {
		return err
	}
	b.printPeakRSS()
	return nil
}

// cpuMeter adds up the CPU time of this process and of the PostgreSQL
// backends serving its database, when that server runs on this machine
// (its backends' /proc entries are readable): CPU seconds per message do
// not depend on what else a shared machine is doing, as wall time does.
type cpuMeter struct {
	st       *store.Store
	self0    time.Duration
	backends map[int]time.Duration // pid -> CPU time last seen
	mu       sync.Mutex
	seen     bool
}

func newCPUMeter(st *store.Store) *cpuMeter {
	return &cpuMeter{st: st, self0: selfCPU(), backends: map[int]time.Duration{}}
}

// watch samples the backends until ctx ends; a backend's last sample is its
// CPU time, less what it had used at its first sample.
func (m *cpuMeter) watch(ctx context.Context) {
	base := map[int]time.Duration{}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		pids, err := m.st.BackendPIDs(ctx)
		if err == nil {
			m.mu.Lock()
			for _, pid := range pids {
				c, ok := procCPU(pid)
				if !ok {
					continue
				}
				m.seen = true
				if _, known := base[pid]; !known {
					base[pid] = c
				}
				m.backends[pid] = c - base[pid]
			}
			m.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// report gives this process's CPU time since the meter was made and the
// backends' (ok false when they could not be read).
func (m *cpuMeter) report() (self, pg time.Duration, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.backends {
		pg += c
	}
	return selfCPU() - m.self0, pg, m.seen
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU reads the user and system time of a process from /proc (Linux).
func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command may hold spaces and parentheses: fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	stt, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(ut+stt) * time.Second / ticks, true
}

// clipMiddle shortens s to about n characters, keeping its start and end
// (a statement's table and its WHERE).
func clipMiddle(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n/2]) + " … " + string(r[len(r)-n/2:])
}
