package store

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// An Option changes how Open connects.
type Option func(*pgx.ConnConfig)

// WithCounter counts every statement the store's connections send, and the
// round trips they take, into c.
func WithCounter(c *StatementCounter) Option {
	return func(cc *pgx.ConnConfig) { cc.Tracer = c }
}

// StatementCounter counts statements by their text: how many, how many round
// trips (a batch is one) and the time from sending to the result, as the
// client sees it. It is a pgx tracer, for benchmarks.
type StatementCounter struct {
	mu    sync.Mutex
	by    map[string]*StatementCount
	trips int64
}

// StatementCount is one statement's figures.
type StatementCount struct {
	SQL   string
	Calls int64
	Time  time.Duration
}

type traceKey struct{}

type traceStart struct {
	sql     string
	at      time.Time
	inBatch bool
}

func (c *StatementCounter) count(sql string, d time.Duration, trip bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.by == nil {
		c.by = map[string]*StatementCount{}
	}
	s := c.by[sql]
	if s == nil {
		s = &StatementCount{SQL: sql}
		c.by[sql] = s
	}
	s.Calls++
	s.Time += d
	if trip {
		c.trips++
	}
}

// TraceQueryStart implements pgx.QueryTracer.
func (c *StatementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return context.WithValue(ctx, traceKey{}, traceStart{sql: data.SQL, at: time.Now()})
}

// TraceQueryEnd implements pgx.QueryTracer.
func (c *StatementCounter) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	if s, ok := ctx.Value(traceKey{}).(traceStart); ok {
		c.count(s.sql, time.Since(s.at), true)
	}
}

// TraceBatchStart implements pgx.BatchTracer.
func (c *StatementCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return context.WithValue(ctx, traceKey{}, traceStart{at: time.Now(), inBatch: true})
}

// TraceBatchQuery implements pgx.BatchTracer.
func (c *StatementCounter) TraceBatchQuery(_ context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	c.count(data.SQL, 0, false)
}

// TraceBatchEnd implements pgx.BatchTracer.
func (c *StatementCounter) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchEndData) {
	c.mu.Lock()
	c.trips++
	c.mu.Unlock()
}

// Totals returns the statements and round trips counted so far.
func (c *StatementCounter) Totals() (statements, trips int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.by {
		statements += s.Calls
	}
	return statements, c.trips
}

// Top returns the n statements that took the most time, their text on one
// line.
func (c *StatementCounter) Top(n int) []StatementCount {
	c.mu.Lock()
	var all []StatementCount
	for _, s := range c.by {
		v := *s
		v.SQL = strings.Join(strings.Fields(v.SQL), " ")
		all = append(all, v)
	}
	c.mu.Unlock()
	slices.SortFunc(all, func(a, b StatementCount) int {
		return cmp.Or(cmp.Compare(b.Time, a.Time), cmp.Compare(b.Calls, a.Calls))
	})
	return all[:min(n, len(all))]
}
