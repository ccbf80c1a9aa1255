package main

import (
	"context"
	"io"

	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/replay"
)

func cmdVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf commonFlags
	fs := newFlagSet("verify", stderr, &cf)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, st, err := cf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	rt, err := pipeline.LoadRuntime(ctx, st, mustRuleFiles(cfg))
	if err != nil {
		return err
	}
	rep, err := replay.VerifyAssignments(ctx, st, rt.Directory)
	if err != nil {
		return err
	}
	rep.WriteText(stdout)
	if len(rep.Violations) > 0 {
		return exitCode(1)
	}
	return nil
}
