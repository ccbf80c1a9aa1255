package mailbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// errAuth marks a rejected login: retried slowly, reported plainly.
var errAuth = errors.New("authentication failed")

// authenticate logs c in as the configuration says.
func authenticate(ctx context.Context, c *imapclient.Client, cfg *Config) error {
	var err error
	switch cfg.Auth {
	case AuthXOAuth2:
		var token string
		token, err = oauthToken(ctx, cfg)
		if err != nil {
			return err
		}
		if !c.Caps().Has(imap.AuthCap("XOAUTH2")) {
			return fmt.Errorf("server does not offer AUTH=XOAUTH2")
		}
		err = c.Authenticate(&xoauth2{user: cfg.Username, token: token})
	case AuthPlain:
		var pw string
		if pw, err = cfg.password(); err != nil {
			return err
		}
		err = c.Authenticate(sasl.NewPlainClient("", cfg.Username, pw))
	default:
		var pw string
		if pw, err = cfg.password(); err != nil {
			return err
		}
		err = c.Login(cfg.Username, pw).Wait()
	}
	var ierr *imap.Error
	if errors.As(err, &ierr) && ierr.Type == imap.StatusResponseTypeNo {
		// The server's text only: never the credentials.
		return fmt.Errorf("%w for user %s (auth %s): %s", errAuth, cfg.Username, cfg.Auth, ierr.Text)
	}
	if err != nil {
		return fmt.Errorf("authenticating as %s: %w", cfg.Username, err)
	}
	return nil
}

// oauthToken reads the current access token from token_file or token_command.
func oauthToken(ctx context.Context, cfg *Config) (string, error) {
	if cfg.TokenFile != "" {
		b, err := os.ReadFile(cfg.TokenFile)
		if err != nil {
			return "", fmt.Errorf("token_file: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", fmt.Errorf("token_file %s is empty", cfg.TokenFile)
		}
		return tok, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", cfg.TokenCommand)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("token_command: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	tok := strings.TrimSpace(string(out))
	if tok == "" {
		return "", errors.New("token_command printed no token")
	}
	return tok, nil
}

// xoauth2 is the SASL XOAUTH2 mechanism of Google, Microsoft 365 and Yandex.
type xoauth2 struct {
	user, token string
	failed      bool
}

func (x *xoauth2) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + x.user + "\x01auth=Bearer " + x.token + "\x01\x01"), nil
}

// Next answers the server's error challenge (a JSON status) with an empty
// response, after which the server fails the command.
func (x *xoauth2) Next(challenge []byte) ([]byte, error) {
	if x.failed {
		return nil, errors.New("unexpected XOAUTH2 challenge")
	}
	x.failed = true
	return []byte{}, nil
}
