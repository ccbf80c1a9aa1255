package mailbox_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// child is the gateway running as a separate process.
type child struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan struct{} // closed when it has exited
	err  error         // how it exited
}

func (e *env) startChild(spec childSpec) *child {
	e.t.Helper()
	spec.DB = e.dbURL
	b, err := json.Marshal(spec)
	require.NoError(e.t, err)
	c := &child{cmd: exec.Command(os.Args[0]), done: make(chan struct{})}
	c.cmd.Env = append(os.Environ(), childEnv+"="+string(b))
	c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.out
	require.NoError(e.t, c.cmd.Start())
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	e.t.Cleanup(func() {
		c.kill()
		if e.t.Failed() && c.out.Len() > 0 {
			e.t.Logf("child %d output:\n%s", c.cmd.Process.Pid, c.out.String())
		}
	})
	return c
}

// kill SIGKILLs the child and waits for it.
func (c *child) kill() {
	c.cmd.Process.Signal(syscall.SIGKILL) //nolint:errcheck
	<-c.done
}

func killedBySIGKILL(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// The gateway dies between the commit and the move. The restarted gateway
// finds the messages at or below the checkpoint and moves them without
// storing them again.
func TestCrashBetweenCommitAndMove(t *testing.T) {
	e := newEnv(t)
	var mids []string
	for i := range 5 {
		raw, id := msg(i)
		mids = append(mids, id)
		e.dc.Append(t, "INBOX", raw)
	}
	cfg := e.config()
	c := e.startChild(childSpec{Config: cfg, Holder: "first", LeasePeriod: 500 * time.Millisecond, KillAfterCommit: true})
	select {
	case <-c.done:
		require.True(t, killedBySIGKILL(c.err), "child should kill itself after the commit: %v\n%s", c.err, c.out.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("child did not reach the commit:\n%s", c.out.String())
	}
	require.Equal(t, 5, e.items(), "committed before the crash")
	require.Equal(t, 5, e.dc.Count(t, "INBOX"), "not moved before the crash")
	require.Zero(t, e.dc.Count(t, "Processed"))

	e.startChild(childSpec{Config: cfg, Holder: "second", LeasePeriod: 500 * time.Millisecond})
	e.waitFor("the move finished by the restarted gateway", 20*time.Second, func() bool {
		return e.dc.Count(t, "Processed") == 5 && e.dc.Count(t, "INBOX") == 0
	})
	e.checkOnce(mids)
}

// TestKillAtRandom is the crash drill: the gateway reading a full
// mailbox is SIGKILLed at random moments ten times and restarted each time;
// in the end every message is stored exactly once and filed. 500 messages by
// default; INTAKE_KILL_TEST=1 runs the full 5,000.
func TestKillAtRandom(t *testing.T) {
	n := 500
	if os.Getenv("INTAKE_KILL_TEST") != "" {
		n = 5000
	}
	e := newEnv(t)
	var mids []string
	var raws [][]byte
	for i := range n {
		raw, id := msg(i)
		raws, mids = append(raws, raw), append(mids, id)
	}
	e.dc.WriteMaildir(t, "INBOX", raws)
	require.Equal(t, n, e.dc.Count(t, "INBOX"))
	cfg := e.config()
	cfg.Batch = n / 50 // more commits, more moments to die between
	const lease = 300 * time.Millisecond
	start := time.Now()
	finished := 0 // runs that found messages committed but not moved by the one killed before
	for round := range 10 {
		stored, filed := e.items(), e.dc.Count(t, "Processed")
		c := e.startChild(childSpec{Config: cfg, Holder: fmt.Sprintf("run-%d", round), LeasePeriod: lease})
		// Die at a random moment once this run is under way (it first
		// waits for the dead one's lease to expire).
		deadline := time.Now().Add(10 * time.Second)
		for e.items() == stored && e.dc.Count(t, "Processed") == filed && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(time.Duration(rand.N(int64(60 * time.Millisecond))))
		c.kill()
		if strings.Contains(c.out.String(), "committed by an earlier session") {
			finished++
		}
		t.Logf("kill %d: %d stored, %d filed", round+1, e.items(), e.dc.Count(t, "Processed"))
	}
	e.startChild(childSpec{Config: cfg, Holder: "final", LeasePeriod: lease})
	e.waitFor("every message filed", 5*time.Minute, func() bool {
		return e.dc.Count(t, "Processed") == n && e.dc.Count(t, "INBOX") == 0
	})
	e.waitFor("every message stored", 10*time.Second, func() bool { return e.items() == n })
	t.Logf("%d messages, 10 kills: done in %s; %d restarts finished a move interrupted between commit and move",
		n, time.Since(start).Round(time.Millisecond), finished)
	e.checkOnce(mids)
}
