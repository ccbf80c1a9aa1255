package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/intakehq/intake/auth"
	"github.com/intakehq/intake/store"
)

const usersUsage = `usage:
  intake users add NAME --role dispatcher|operations|admin [--password-file F]
  intake users list
  intake users disable NAME
  intake users passwd NAME [--password-file F]
The password is read from --password-file, else $INTAKE_PASSWORD, else asked
for (or read as one line from standard input).`

const tokensUsage = `usage:
  intake tokens create --user NAME [--label L]   prints the new token once
  intake tokens revoke --user NAME [--token ID]  one token by its id (shown by list), or all of the user's
  intake tokens list   [--user NAME]`

// parseAll parses flags wherever they stand among the positional
// arguments ("users add ivanova --role admin"), returning the positionals.
func parseAll(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// cliActor is who a change from the command line is recorded as in the
// audit log: the operating-system user running it.
func cliActor() string {
	if u, err := user.Current(); err == nil {
		return "cli:" + u.Username
	}
	return "cli"
}

func cmdUsers(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(usersUsage)
	}
	var cf commonFlags
	fs := newFlagSet("users "+args[0], stderr, &cf)
	role := fs.String("role", "", "dispatcher, operations or admin")
	pwFile := fs.String("password-file", "", "read the password from this file")
	pos, err := parseAll(fs, args[1:])
	if err != nil {
		return err
	}
	_, st, err := cf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.CheckSchema(ctx); err != nil {
		return err
	}
	name := ""
	if len(pos) > 0 {
		name = strings.ToLower(pos[0])
	}
	switch args[0] {
	case "add":
		if len(pos) != 1 {
			return errors.New(usersUsage)
		}
		r, err := auth.ParseRole(*role)
		if err != nil {
			return fmt.Errorf("--role: %w", err)
		}
		pw, err := readPassword(name, *pwFile, stdin, stderr)
		if err != nil {
			return err
		}
		hash, err := auth.HashPassword(pw)
		if err != nil {
			return err
		}
		u, err := st.AddUser(ctx, name, string(r), hash, cliActor())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s added (%s)\n", u.Name, u.Role)
		return nil
	case "list":
		us, err := st.Users(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tSTATE\tCREATED")
		for _, u := range us {
			state := "active"
			if u.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, u.Role, state, u.CreatedAt.Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	case "disable":
		if len(pos) != 1 {
			return errors.New(usersUsage)
		}
		if err := st.DisableUser(ctx, name, cliActor()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s disabled: its sessions ended, its tokens no longer work\n", name)
		return nil
	case "passwd":
		if len(pos) != 1 {
			return errors.New(usersUsage)
		}
		pw, err := readPassword(name, *pwFile, stdin, stderr)
		if err != nil {
			return err
		}
		hash, err := auth.HashPassword(pw)
		if err != nil {
			return err
		}
		if err := st.SetPassword(ctx, name, hash, cliActor()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "password of %s changed; its sessions ended\n", name)
		return nil
	}
	return errors.New(usersUsage)
}

// readPassword reads a new password and applies the policy.
func readPassword(name, file string, stdin io.Reader, stderr io.Writer) (string, error) {
	var pw string
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		pw = strings.TrimRight(string(b), "\r\n")
	case os.Getenv("INTAKE_PASSWORD") != "":
		pw = os.Getenv("INTAKE_PASSWORD")
	default:
		if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			fmt.Fprintf(stderr, "password for %s: ", name)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(stderr)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(stderr, "again: ")
			b2, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(stderr)
			if err != nil {
				return "", err
			}
			if string(b) != string(b2) {
				return "", errors.New("the passwords differ")
			}
			pw = string(b)
		} else {
			line, err := bufio.NewReader(stdin).ReadString('\n')
			if err != nil && line == "" {
				return "", errors.New("no password given: use --password-file, $INTAKE_PASSWORD or standard input")
			}
			pw = strings.TrimRight(line, "\r\n")
		}
	}
	if err := auth.CheckPassword(name, pw); err != nil {
		return "", err
	}
	return pw, nil
}

func cmdTokens(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(tokensUsage)
	}
	var cf commonFlags
	fs := newFlagSet("tokens "+args[0], stderr, &cf)
	userName := fs.String("user", "", "the user the token belongs to")
	label := fs.String("label", "", "what the token is for (shown by list)")
	tokenID := fs.String("token", "", "the id of the token to revoke (its first characters, shown by list)")
	pos, err := parseAll(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return errors.New(tokensUsage)
	}
	_, st, err := cf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.CheckSchema(ctx); err != nil {
		return err
	}
	who := strings.ToLower(*userName)
	switch args[0] {
	case "create":
		if who == "" {
			return errors.New(tokensUsage)
		}
		tok, err := auth.NewToken()
		if err != nil {
			return err
		}
		if _, err := st.CreateAPIToken(ctx, who, auth.TokenID(tok), auth.HashToken(tok), *label, cliActor()); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%s: no such enabled user (see `intake users list`)", who)
			}
			return err
		}
		fmt.Fprintf(stderr, "token %s for %s; it is shown this once, keep it:\n", auth.TokenID(tok), who)
		fmt.Fprintln(stdout, tok)
		return nil
	case "revoke":
		if who == "" {
			return errors.New(tokensUsage)
		}
		n, err := st.RevokeAPITokens(ctx, who, *tokenID, cliActor())
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%s: no such token to revoke (see `intake tokens list --user %s`)", who, who)
		}
		fmt.Fprintf(stdout, "%d token(s) of %s revoked\n", n, who)
		return nil
	case "list":
		ts, err := st.APITokens(ctx, who)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSER\tLABEL\tCREATED\tLAST USED\tSTATE")
		for _, t := range ts {
			used, state := "never", "active"
			if t.LastUsedAt != nil {
				used = t.LastUsedAt.Format("2006-01-02 15:04")
			}
			if t.RevokedAt != nil {
				state = "revoked"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Prefix, t.User, t.Label, t.CreatedAt.Format("2006-01-02 15:04"), used, state)
		}
		return tw.Flush()
	}
	return errors.New(tokensUsage)
}
