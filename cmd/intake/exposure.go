package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"github.com/intakehq/intake/auth"
)

// defaultHTTPPort is where serve listens when http.addr is not set.
const defaultHTTPPort = "8080"

// listenAddr decides where serve listens. Intake is closed by default:
// while no user and no token is configured, nobody could sign in, and the
// API and the pages answer only this machine (see web.Server). Then an
// unset http.addr is the loopback address, and an address other machines
// can reach is refused with what to do instead. Configured tokens shorter
// than auth.MinTokenLen are refused: a short token is guessed.
func listenAddr(addr string, tokens []string, hasUsers bool, log *slog.Logger) (string, error) {
	for i, t := range tokens {
		if auth.CheckTokenLen(t) != nil {
			return "", fmt.Errorf("http.api_tokens_file / INTAKE_API_TOKENS: token %d is shorter than %d characters; "+
				"replace it with a long random one (`openssl rand -base64 36`) or give users their own (`intake tokens create --user NAME`)", i+1, auth.MinTokenLen)
		}
	}
	open := len(tokens) == 0 && !hasUsers
	if addr == "" {
		if open {
			addr = "127.0.0.1:" + defaultHTTPPort
		} else {
			addr = ":" + defaultHTTPPort
		}
	}
	if !open {
		return addr, nil
	}
	if !isLoopbackAddr(addr) {
		return "", fmt.Errorf("http.addr %s is reachable from other machines, but no user and no API token is configured, "+
			"so anyone could reach the API; add a user first (`intake users add NAME --role admin`), "+
			"or listen on this machine only (http.addr: 127.0.0.1:%s)", addr, defaultHTTPPort)
	}
	log.Warn("no users and no API tokens: serving this machine only; add a user (`intake users add NAME --role admin`) "+
		"and set http.addr to serve others", "http", addr)
	return addr, nil
}

// isLoopbackAddr reports whether a listen address (host:port) binds only
// the loopback interface. An empty host binds every interface.
func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
