package mailbox

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// TLS modes.
const (
	TLSImplicit = "implicit" // TLS from the first byte (port 993)
	TLSStartTLS = "starttls" // STARTTLS on a plain connection (port 143)
	TLSPlain    = "plain"    // no TLS: local testing only
)

// Authentication mechanisms.
const (
	AuthLogin   = "login"   // IMAP LOGIN
	AuthPlain   = "plain"   // SASL PLAIN
	AuthXOAuth2 = "xoauth2" // SASL XOAUTH2 with a bearer token
)

// Modes: what happens to a message once it is committed.
const (
	ModeMove     = "move"      // moved to processed_folder (failed_folder for failed items)
	ModeFlag     = "flag"      // a keyword (flag_keyword) is set; the message stays
	ModeReadOnly = "read-only" // the mailbox is never changed; only the checkpoint moves
)

// Defaults.
const (
	DefaultMaxMessageSize = 25 << 20
	DefaultBatch          = 500
	DefaultPollInterval   = 30 * time.Second
	DefaultFlagKeyword    = "$Intake"
	DefaultProcessed      = "Intake/Processed"
)

// Config is one mailbox.
type Config struct {
	// Name identifies the mailbox in logs, metrics, source references and
	// checkpoints; renaming it starts the mailbox from scratch.
	Name string `yaml:"name"`
	Host string `yaml:"host"`
	// Port defaults to 993 with implicit TLS and 143 otherwise.
	Port int    `yaml:"port"`
	TLS  string `yaml:"tls"` // implicit (default) | starttls | plain
	// InsecureSkipVerify turns off certificate checks (self-signed test servers).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`

	Username string `yaml:"username"`
	// One of Password, PasswordEnv (name of an environment variable) or
	// PasswordFile for login and plain.
	Password     string `yaml:"password"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	Auth         string `yaml:"auth"` // login (default) | plain | xoauth2
	// For xoauth2: a file holding the current access token (kept fresh by
	// an outside agent), or a command printing one on stdout. Read anew on
	// every connection.
	TokenFile    string `yaml:"token_file"`
	TokenCommand string `yaml:"token_command"`

	Folders         []string `yaml:"folders"` // default [INBOX]
	ProcessedFolder string   `yaml:"processed_folder"`
	FailedFolder    string   `yaml:"failed_folder"` // default: processed_folder
	Mode            string   `yaml:"mode"`          // move (default) | flag | read-only
	FlagKeyword     string   `yaml:"flag_keyword"`  // default $Intake

	// Idle uses IMAP IDLE when the server offers it (default true).
	Idle *bool `yaml:"idle"`
	// PollInterval is how often the folders are checked without IDLE, and
	// how often IDLE is restarted for a full check with it.
	PollInterval   time.Duration `yaml:"poll_interval"`
	MaxMessageSize ByteSize      `yaml:"max_message_size"`
	// Batch is how many UIDs one FETCH asks for.
	Batch int `yaml:"batch"`
}

// ByteSize is a size in bytes, written as 26214400, "25MiB", "10MB" or "512KiB".
type ByteSize int64

// UnmarshalText implements encoding.TextUnmarshaler.
func (b *ByteSize) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	i := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsDigit(r) && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.TrimSpace(s[i:])
	}
	mult := map[string]float64{"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9,
		"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30}[strings.ToUpper(unit)]
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || mult == 0 || f < 0 {
		return fmt.Errorf("size %q: want bytes or a number with KB, MB, KiB, MiB", s)
	}
	*b = ByteSize(f * mult)
	return nil
}

// MarshalText implements encoding.TextMarshaler (bytes, as a decimal).
func (b ByteSize) MarshalText() ([]byte, error) { return strconv.AppendInt(nil, int64(b), 10), nil }

// WithDefaults returns c with unset keys filled in.
func (c Config) WithDefaults() Config {
	if c.TLS == "" {
		c.TLS = TLSImplicit
	}
	if c.Port == 0 {
		c.Port = 143
		if c.TLS == TLSImplicit {
			c.Port = 993
		}
	}
	if c.Auth == "" {
		c.Auth = AuthLogin
	}
	if len(c.Folders) == 0 {
		c.Folders = []string{"INBOX"}
	}
	if c.Mode == "" {
		c.Mode = ModeMove
	}
	if c.Mode == ModeMove && c.ProcessedFolder == "" {
		c.ProcessedFolder = DefaultProcessed
	}
	if c.FailedFolder == "" {
		c.FailedFolder = c.ProcessedFolder
	}
	if c.FlagKeyword == "" {
		c.FlagKeyword = DefaultFlagKeyword
	}
	if c.Idle == nil {
		t := true
		c.Idle = &t
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.Batch == 0 {
		c.Batch = DefaultBatch
	}
	return c
}

// Validate checks a configuration (after WithDefaults); errors name the key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Name == "" {
		bad("name", "required")
	} else if strings.ContainsAny(c.Name, "/ \t\r\n") {
		bad("name", "%q must not contain '/' or spaces (it is part of each message's source reference)", c.Name)
	}
	if c.Host == "" {
		bad("host", "required")
	}
	if c.Port < 1 || c.Port > 65535 {
		bad("port", "%d is not a TCP port", c.Port)
	}
	switch c.TLS {
	case TLSImplicit, TLSStartTLS, TLSPlain:
	default:
		bad("tls", "%q: want implicit, starttls or plain", c.TLS)
	}
	if c.Username == "" {
		bad("username", "required")
	}
	secrets := 0
	for _, s := range []string{c.Password, c.PasswordEnv, c.PasswordFile} {
		if s != "" {
			secrets++
		}
	}
	switch c.Auth {
	case AuthLogin, AuthPlain:
		if secrets != 1 {
			bad("password", "give exactly one of password, password_env, password_file for auth %s", c.Auth)
		}
		if c.TokenFile != "" || c.TokenCommand != "" {
			bad("token_file", "token_file and token_command are for auth xoauth2")
		}
	case AuthXOAuth2:
		if (c.TokenFile == "") == (c.TokenCommand == "") {
			bad("token_file", "give exactly one of token_file, token_command for auth xoauth2")
		}
		if secrets != 0 {
			bad("password", "not used with auth xoauth2: give token_file or token_command")
		}
	default:
		bad("auth", "%q: want login, plain or xoauth2", c.Auth)
	}
	if len(c.Folders) == 0 {
		bad("folders", "at least one folder")
	}
	seen := map[string]bool{}
	for i, f := range c.Folders {
		if f == "" {
			bad(fmt.Sprintf("folders[%d]", i), "empty folder name")
		}
		if seen[f] {
			bad(fmt.Sprintf("folders[%d]", i), "%q listed twice", f)
		}
		seen[f] = true
	}
	switch c.Mode {
	case ModeMove:
		if c.ProcessedFolder == "" {
			bad("processed_folder", "required in mode move")
		}
		if seen[c.ProcessedFolder] {
			bad("processed_folder", "%q is also a folder that is read", c.ProcessedFolder)
		}
		if seen[c.FailedFolder] {
			bad("failed_folder", "%q is also a folder that is read", c.FailedFolder)
		}
	case ModeFlag:
		if c.FlagKeyword == "" || strings.HasPrefix(c.FlagKeyword, `\`) || strings.ContainsAny(c.FlagKeyword, " (){%*\"\\]") {
			bad("flag_keyword", "%q is not an IMAP keyword (e.g. $Intake)", c.FlagKeyword)
		}
	case ModeReadOnly:
	default:
		bad("mode", "%q: want move, flag or read-only", c.Mode)
	}
	if c.PollInterval < 100*time.Millisecond {
		bad("poll_interval", "%s is too short (at least 100ms)", c.PollInterval)
	}
	if c.MaxMessageSize < 1024 {
		bad("max_message_size", "%d bytes is too small (at least 1KiB)", c.MaxMessageSize)
	}
	if c.Batch < 1 || c.Batch > 10000 {
		bad("batch", "%d: want 1 to 10000", c.Batch)
	}
	if err := errors.Join(errs...); err != nil {
		name := c.Name
		if name == "" {
			name = "(unnamed)"
		}
		return fmt.Errorf("mailbox %s: %w", name, err)
	}
	return nil
}

// password returns the password from wherever the configuration says.
func (c *Config) password() (string, error) {
	switch {
	case c.PasswordEnv != "":
		p := os.Getenv(c.PasswordEnv)
		if p == "" {
			return "", fmt.Errorf("password_env: environment variable %s is empty or not set", c.PasswordEnv)
		}
		return p, nil
	case c.PasswordFile != "":
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("password_file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return c.Password, nil
}

// DecodeConfigs decodes the `mailboxes:` list of the configuration file,
// fills in defaults and validates every mailbox. Unknown keys are errors with
// their line, so a misspelt key is not silently ignored.
func DecodeConfigs(n *yaml.Node) ([]Config, error) {
	if n == nil || n.Kind == 0 {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("mailboxes (line %d): want a list of mailboxes", n.Line)
	}
	known := map[string]bool{}
	t := reflect.TypeOf(Config{})
	for i := range t.NumField() {
		known[strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]] = true
	}
	var errs []error
	var out []Config
	names := map[string]int{}
	for i, item := range n.Content {
		if item.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(item.Content); j += 2 {
				if k := item.Content[j]; !known[k.Value] {
					errs = append(errs, fmt.Errorf("mailboxes[%d] (line %d): unknown key %q", i, k.Line, k.Value))
				}
			}
		}
		var c Config
		if err := item.Decode(&c); err != nil {
			errs = append(errs, fmt.Errorf("mailboxes[%d] (line %d): %w", i, item.Line, err))
			continue
		}
		c = c.WithDefaults()
		if err := c.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("mailboxes[%d] (line %d): %w", i, item.Line, err))
		}
		if prev, dup := names[c.Name]; dup && c.Name != "" {
			errs = append(errs, fmt.Errorf("mailboxes[%d] (line %d): name %q is already used by mailboxes[%d]", i, item.Line, c.Name, prev))
		}
		names[c.Name] = i
		out = append(out, c)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}
