package mailbox

import "github.com/emersion/go-imap/v2"

// SetAfterCommit sets a hook run after each commit, before the messages are
// moved or flagged.
func SetAfterCommit(o *Options, f func(mailbox, folder string, uids []imap.UID)) { o.afterCommit = f }

// SetBeforeBodies sets a hook run before each group's bodies are fetched.
func SetBeforeBodies(o *Options, f func(mailbox, folder string, uids []imap.UID)) { o.beforeBodies = f }

// XOAuth2Initial returns the initial response of the XOAUTH2 mechanism.
func XOAuth2Initial(user, token string) (string, []byte) {
	mech, ir, _ := (&xoauth2{user: user, token: token}).Start()
	return mech, ir
}

// OAuthToken reads the token as a session would.
var OAuthToken = oauthToken
