// Command intake is the Intake ingestion gateway: it takes in work orders
// from mailboxes, telephony webhooks and client service desks, and turns each
// into a ticket, a follow-up, or an item for a dispatcher.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/intakehq/intake/redact"
)

const usage = `intake: the work-order ingestion gateway

Usage:
  intake serve   [--config F]                 run sources, pipeline and HTTP
  intake migrate [--config F]                 apply database migrations
  intake import  [--config F] KIND FILE.csv   import reference data
                 KIND: clients | engineers | objects | contacts | categories | equipment
  intake try     [--config F] [--json|--doc] [--dedup] FILE...  dry-run messages, writing nothing
                                              (a stored message is tried as new; --dedup: as a re-delivery)
  intake ingest  [--config F] [--wait 30s] [--run NAME] FILE.eml...  feed saved mail to the running servers
  intake eval    [--config F] --labels L [--min 0.99] DIR
                                              check extraction against a labelled set
  intake retry   [--config F] [ID...]         re-run failed items (all when no ID)
  intake reprocess [--config F] [--unmatched] [--client C] [--from D] [--to D] [--all] [--dry-run]
                                              run stored mail again under the rules in force (preview with --dry-run)
  intake verify  [--config F]                 check every assignment against the rules of assignment
  intake act     [--config F] [--out act.html] TICKET-ID
                                              completion act of a ticket (printable HTML)
  intake rules   check PATH... | apply [--comment TEXT] PATH... | backtest [--since 7d] PATH...
  intake formats learn --client CODE [--out FILE] SAMPLE.eml...
                                              propose a chain's format from a few of its mails
  intake users   add NAME --role R | list | disable NAME | passwd NAME
                                              people who sign in: dispatcher, operations, admin; client (a client system: submits requests only)
  intake tokens  create --user U | revoke --user U [--token ID] | list
                                              API tokens of users
  intake form-link [--config F] CLIENT STORE  the signed address of a store's own request form
  intake demo    [--once]                     run the whole job on sample data
  intake bench   parse [--n 5000]             normalize + extract throughput on one core
  intake bench   e2e [--n 2000] | e2e --idle [--n 200] | e2e --drain [--n 3000]
                                              mailbox to outcome through a real Dovecot and PostgreSQL:
                                              throughput, or latency of single messages with IDLE

The configuration is intake.yaml (see intake.example.yaml) plus environment
overrides; DATABASE_URL overrides the database.
`

// Garbage collection: each message leaves mostly short-lived garbage, so
// the collector runs less often than Go's default (GOGC 300 instead of
// 100, about a sixth less CPU per message), while a soft memory limit
// makes it work harder before the heap passes 100 MiB (a large message in
// flight). GOGC and GOMEMLIMIT in the environment override both.
const (
	gcPercent   = 300
	memoryLimit = 100 << 20
)

func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
}

func main() {
	tuneGC(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = nil // stopped by a signal while starting: a clean stop
	}
	stop()
	if err != nil {
		var ec exitCode
		if errors.As(err, &ec) {
			os.Exit(int(ec))
		}
		fmt.Fprintln(os.Stderr, "intake:", err)
		os.Exit(1)
	}
}

// exitCode ends the process with a status and no further message.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, rest, stdout, stderr)
	case "import":
		return cmdImport(ctx, rest, stdout, stderr)
	case "try":
		return cmdTry(ctx, rest, stdout, stderr)
	case "eval":
		return cmdEval(ctx, rest, stdout, stderr)
	case "retry":
		return cmdRetry(ctx, rest, stdout, stderr)
	case "reprocess":
		return cmdReprocess(ctx, rest, stdout, stderr)
	case "bench":
		if len(rest) > 0 && rest[0] == "parse" {
			return cmdBenchParse(ctx, rest[1:], stdout, stderr)
		}
		if len(rest) > 0 && rest[0] == "e2e" {
			return cmdBenchE2E(ctx, rest[1:], stdout, stderr)
		}
		return fmt.Errorf("usage: intake bench parse [--n N] [--seed S] [--rounds R] | intake bench e2e [--idle | --drain] [--n N]")
	case "ingest":
		return cmdIngest(ctx, rest, stdout, stderr)
	case "verify":
		return cmdVerify(ctx, rest, stdout, stderr)
	case "act":
		return cmdAct(ctx, rest, stdout, stderr)
	case "rules":
		return cmdRules(ctx, rest, stdout, stderr)
	case "formats":
		return cmdFormats(ctx, rest, stdout, stderr)
	case "demo":
		return cmdDemo(ctx, rest, stdout, stderr)
	case "users":
		return cmdUsers(ctx, rest, os.Stdin, stdout, stderr)
	case "tokens":
		return cmdTokens(ctx, rest, stdout, stderr)
	case "form-link":
		return cmdFormLink(ctx, rest, stdout, stderr)
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

// commonFlags are the flags every command takes.
type commonFlags struct {
	config string
}

func newFlagSet(name string, stderr io.Writer, cf *commonFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("intake "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cf.config, "config", defaultConfigPath(), "configuration file")
	return fs
}

// defaultConfigPath is $INTAKE_CONFIG, else ./intake.yaml when it exists.
func defaultConfigPath() string {
	if p := os.Getenv("INTAKE_CONFIG"); p != "" {
		return p
	}
	if _, err := os.Stat("intake.yaml"); err == nil {
		return "intake.yaml"
	}
	return ""
}

func newLogger(cfg LogConfig, w io.Writer) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(strings.ToUpper(cfg.Level))); err != nil {
		lvl = slog.LevelInfo // loadConfig refuses other levels; a LogConfig made by hand may hold none
	}
	opts := &slog.HandlerOptions{Level: lvl}
	// Every record passes through redact: a credential that reached a log
	// value (a URL, an error quoting one, a link path) is masked.
	if cfg.Format == "json" {
		return slog.New(redact.Handler(slog.NewJSONHandler(w, opts)))
	}
	return slog.New(redact.Handler(slog.NewTextHandler(w, opts)))
}
