package mailbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/parsers"
	"github.com/intakehq/intake/store"
)

// groupBytes bounds the raw bytes held in memory for one commit: a group of
// messages is fetched, committed and acknowledged before the next is fetched.
// A message larger than this (up to max_message_size) is a group of its own.
const groupBytes = 16 << 20

// maxBodyAttempts is how often a message the server lists but will not return
// is tried before it is stored as failed, so one broken message cannot stop a
// mailbox.
const maxBodyAttempts = 3

// session is one IMAP connection's life.
type session struct {
	b    *box
	c    *imapclient.Client
	wake chan struct{}
	cps  map[string]*store.MailboxCheckpoint
	// recovered is set per folder once committed but unacknowledged
	// messages left by an earlier session (a crash between commit and move)
	// have been moved or flagged.
	recovered map[string]bool
}

// session connects, logs in and reads until an error or ctx is done.
// healthy says whether it got as far as a complete pass over the folders.
func (b *box) session(ctx context.Context) (healthy bool, err error) {
	s := &session{b: b, wake: make(chan struct{}, 1), cps: map[string]*store.MailboxCheckpoint{}, recovered: map[string]bool{}}
	c, err := s.dial(ctx)
	if err != nil {
		return false, err
	}
	s.c = c
	defer c.Close()
	// go-imap takes no context: closing the client unblocks whatever
	// command is waiting.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	if err := authenticate(ctx, c, &b.cfg); err != nil {
		return false, err
	}
	b.m.metrics.connected.WithLabelValues(b.cfg.Name).Set(1)
	b.update(ctx, func(st *Status) { st.Connected = true })
	b.log.Info("connected", "host", b.cfg.Host, "idle", *b.cfg.Idle && c.Caps().Has(imap.CapIdle))

	if b.cfg.Mode == ModeMove {
		for _, f := range []string{b.cfg.ProcessedFolder, b.cfg.FailedFolder} {
			if err := s.ensureFolder(f); err != nil {
				return false, err
			}
		}
	}
	for _, f := range b.cfg.Folders {
		cp, err := b.m.store.MailboxCheckpoint(ctx, b.cfg.Name, f)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return false, err
		}
		s.cps[f] = &cp
	}
	idle := *b.cfg.Idle && c.Caps().Has(imap.CapIdle)
	for {
		// The first folder last, so that it stays selected for IDLE.
		for _, f := range slices.Backward(b.cfg.Folders) {
			if err := s.syncFolder(ctx, f); err != nil {
				return healthy, fmt.Errorf("folder %s: %w", f, err)
			}
		}
		healthy = true
		b.update(ctx, func(st *Status) { st.LastSuccess = time.Now() })
		if idle {
			err = s.idle(ctx)
		} else {
			err = s.poll(ctx)
		}
		if err != nil {
			return healthy, err
		}
	}
}

func (s *session) dial(ctx context.Context) (*imapclient.Client, error) {
	cfg := &s.b.cfg
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	tlsConf := s.b.m.opts.TLSConfig.Clone()
	if tlsConf == nil {
		tlsConf = &tls.Config{}
	}
	tlsConf.ServerName = cfg.Host
	tlsConf.InsecureSkipVerify = tlsConf.InsecureSkipVerify || cfg.InsecureSkipVerify
	opts := &imapclient.Options{
		TLSConfig: tlsConf,
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case s.wake <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	var conn net.Conn
	var err error
	if cfg.TLS == TLSImplicit {
		conn, err = (&tls.Dialer{NetDialer: d, Config: tlsConf}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", addr, err)
	}
	var c *imapclient.Client
	if cfg.TLS == TLSStartTLS {
		c, err = imapclient.NewStartTLS(conn, opts)
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("STARTTLS with %s: %w", addr, err)
		}
	} else {
		c = imapclient.New(conn, opts)
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, fmt.Errorf("greeting from %s: %w", addr, err)
	}
	return c, nil
}

func (s *session) ensureFolder(name string) error {
	err := s.c.Create(name, nil).Wait()
	var ierr *imap.Error
	if err == nil || errors.As(err, &ierr) && (ierr.Code == imap.ResponseCodeAlreadyExists ||
		strings.Contains(strings.ToLower(ierr.Text), "exists")) {
		return nil
	}
	return fmt.Errorf("creating folder %s: %w", name, err)
}

// idle waits in IDLE for the server to announce new messages, at most
// poll_interval (a full pass then runs anyway).
func (s *session) idle(ctx context.Context) error {
	select {
	case <-s.wake: // announced while we were busy
		return nil
	default:
	}
	cmd, err := s.c.Idle()
	if err != nil {
		return fmt.Errorf("starting IDLE: %w", err)
	}
	t := time.NewTimer(s.b.cfg.PollInterval)
	defer t.Stop()
	select {
	case <-s.wake:
		s.b.m.metrics.idleWakeups.WithLabelValues(s.b.cfg.Name).Inc()
	case <-t.C:
	case <-ctx.Done():
	case <-s.c.Closed():
	}
	if err := cmd.Close(); err != nil {
		return errors.Join(ctx.Err(), fmt.Errorf("stopping IDLE: %w", err))
	}
	if err := cmd.Wait(); err != nil {
		return errors.Join(ctx.Err(), fmt.Errorf("IDLE: %w", err))
	}
	return ctx.Err()
}

func (s *session) poll(ctx context.Context) error {
	t := time.NewTimer(s.b.cfg.PollInterval)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.wake:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// syncFolder reads every message of folder past its checkpoint.
func (s *session) syncFolder(ctx context.Context, folder string) error {
	b := s.b
	cp := s.cps[folder]
	if mb := s.c.Mailbox(); mb == nil || mb.Name != folder {
		sel, err := s.c.Select(folder, &imap.SelectOptions{ReadOnly: b.cfg.Mode == ModeReadOnly}).Wait()
		if err != nil {
			return fmt.Errorf("selecting: %w", err)
		}
		if sel.UIDValidity != cp.UIDValidity {
			next := store.MailboxCheckpoint{Mailbox: b.cfg.Name, Folder: folder, UIDValidity: sel.UIDValidity}
			if cp.UIDValidity != 0 {
				// The folder was recreated or renumbered: every message is
				// read again. The ones there now are marked as the re-read,
				// so that the inbox recognises those this folder delivered
				// before instead of recording them as re-deliveries. A
				// server that does not say UIDNEXT gets the whole folder
				// treated so.
				next.RescanUntil = ^uint32(0)
				if sel.UIDNext > 0 {
					next.RescanUntil = uint32(sel.UIDNext) - 1
				}
				b.log.Warn("UIDVALIDITY changed: re-reading the folder", "folder", folder,
					"old", cp.UIDValidity, "new", sel.UIDValidity, "last_uid", cp.LastUID, "rescan_until", next.RescanUntil)
				b.m.metrics.uidValidity.WithLabelValues(b.cfg.Name).Inc()
			}
			err := b.m.store.InTx(ctx, func(tx pgx.Tx) error {
				return b.m.store.SaveMailboxCheckpoint(ctx, tx, next, b.m.opts.Holder)
			})
			if err != nil {
				return err
			}
			*cp = next
			s.recovered[folder] = true
		}
	}
	if !s.recovered[folder] {
		if err := s.recover(ctx, folder, cp); err != nil {
			return err
		}
		s.recovered[folder] = true
	}
	var set imap.UIDSet
	set.AddRange(imap.UID(cp.LastUID+1), 0)
	data, err := s.c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{set}}, nil).Wait()
	if err != nil {
		return fmt.Errorf("searching past uid %d: %w", cp.LastUID, err)
	}
	var uids []imap.UID
	for _, u := range data.AllUIDs() {
		// "n:*" matches the last message even when its UID is below n.
		if uint32(u) > cp.LastUID {
			uids = append(uids, u)
		}
	}
	slices.Sort(uids)
	b.setBacklog(ctx, folder, int64(len(uids)))
	for chunk := range slices.Chunk(uids, b.cfg.Batch) {
		if err := s.fetchChunk(ctx, folder, cp, chunk); err != nil {
			return err
		}
	}
	return nil
}

// recover acknowledges messages at or below the checkpoint that are still in
// the folder: they were committed, but the session ended before they were
// moved or flagged.
func (s *session) recover(ctx context.Context, folder string, cp *store.MailboxCheckpoint) error {
	b := s.b
	if b.cfg.Mode == ModeReadOnly || cp.LastUID == 0 {
		return nil
	}
	var set imap.UIDSet
	set.AddRange(1, imap.UID(cp.LastUID))
	crit := &imap.SearchCriteria{UID: []imap.UIDSet{set}}
	if b.cfg.Mode == ModeFlag {
		crit.NotFlag = []imap.Flag{imap.Flag(b.cfg.FlagKeyword)}
	}
	data, err := s.c.UIDSearch(crit, nil).Wait()
	if err != nil {
		return fmt.Errorf("searching committed messages: %w", err)
	}
	var uids []imap.UID
	for _, u := range data.AllUIDs() {
		if uint32(u) <= cp.LastUID {
			uids = append(uids, u)
		}
	}
	if len(uids) == 0 {
		return nil
	}
	failed := map[imap.UID]bool{}
	if b.cfg.Mode == ModeMove && b.cfg.FailedFolder != b.cfg.ProcessedFolder {
		refs := make([]string, len(uids))
		for i, u := range uids {
			refs[i] = s.ref(folder, cp.UIDValidity, u)
		}
		bad, err := b.m.store.FailedMailRefs(ctx, refs)
		if err != nil {
			return err
		}
		for i, u := range uids {
			failed[u] = bad[refs[i]]
		}
	}
	b.log.Info("acknowledging messages committed by an earlier session", "folder", folder, "count", len(uids))
	return s.ack(uids, failed)
}

// ack moves or flags committed messages.
func (s *session) ack(uids []imap.UID, failed map[imap.UID]bool) error {
	cfg := &s.b.cfg
	if len(uids) == 0 {
		return nil
	}
	switch cfg.Mode {
	case ModeMove:
		var ok, bad []imap.UID
		for _, u := range uids {
			if failed[u] && cfg.FailedFolder != cfg.ProcessedFolder {
				bad = append(bad, u)
			} else {
				ok = append(ok, u)
			}
		}
		for _, g := range []struct {
			uids []imap.UID
			to   string
		}{{ok, cfg.ProcessedFolder}, {bad, cfg.FailedFolder}} {
			if len(g.uids) == 0 {
				continue
			}
			if _, err := s.c.Move(imap.UIDSetNum(g.uids...), g.to).Wait(); err != nil {
				return fmt.Errorf("moving %d messages to %s: %w", len(g.uids), g.to, err)
			}
		}
	case ModeFlag:
		err := s.c.Store(imap.UIDSetNum(uids...), &imap.StoreFlags{
			Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.Flag(cfg.FlagKeyword)},
		}, nil).Close()
		if err != nil {
			return fmt.Errorf("flagging %d messages %s: %w", len(uids), cfg.FlagKeyword, err)
		}
	}
	return nil
}

func (s *session) ref(folder string, validity uint32, uid imap.UID) string {
	return fmt.Sprintf("%s/%s/%d/%d", s.b.cfg.Name, folder, validity, uid)
}

// scope names the folder as the inbox compares re-scanned messages.
func (s *session) scope(folder string) string {
	return s.b.cfg.Name + "/" + folder
}

type msgInfo struct {
	uid  imap.UID
	size int64
	date time.Time
}

// fetchChunk fetches, commits and acknowledges up to batch messages, in
// groups bounded by groupBytes.
func (s *session) fetchChunk(ctx context.Context, folder string, cp *store.MailboxCheckpoint, uids []imap.UID) error {
	msgs, err := s.c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, RFC822Size: true, InternalDate: true}).Collect()
	if err != nil && !isNo(err) {
		return fmt.Errorf("fetching sizes: %w", err)
	}
	infos := map[imap.UID]msgInfo{}
	for _, m := range msgs {
		if m.UID != 0 {
			infos[m.UID] = msgInfo{uid: m.UID, size: m.RFC822Size, date: m.InternalDate}
		}
	}
	var group []imap.UID
	var bytes int64
	flush := func() error {
		if len(group) == 0 {
			return nil
		}
		err := s.fetchGroup(ctx, folder, cp, group, infos)
		group, bytes = group[:0], 0
		return err
	}
	for _, u := range uids {
		size := infos[u].size
		if size > int64(s.b.cfg.MaxMessageSize) {
			size = 64 << 10 // only the header is fetched
		}
		if len(group) > 0 && bytes+size > groupBytes {
			if err := flush(); err != nil {
				return err
			}
		}
		group = append(group, u)
		bytes += size
	}
	return flush()
}

// fetchGroup fetches the bodies of uids, commits them with the advanced
// checkpoint in one transaction, then acknowledges them.
func (s *session) fetchGroup(ctx context.Context, folder string, cp *store.MailboxCheckpoint, uids []imap.UID, infos map[imap.UID]msgInfo) error {
	b := s.b
	cfg := &b.cfg
	if h := b.m.opts.beforeBodies; h != nil {
		h(cfg.Name, folder, uids)
	}
	var small, big []imap.UID
	for _, u := range uids {
		if inf, ok := infos[u]; ok && inf.size > int64(cfg.MaxMessageSize) {
			big = append(big, u)
		} else {
			small = append(small, u)
		}
	}
	got := map[imap.UID]ingest.Item{}
	start := time.Now()
	if err := s.fetchBodies(folder, cp, small, &imap.FetchItemBodySection{Peek: true}, infos, got); err != nil {
		return err
	}
	if err := s.fetchBodies(folder, cp, big, &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}, infos, got); err != nil {
		return err
	}
	b.m.metrics.fetchTime.WithLabelValues(cfg.Name).Observe(time.Since(start).Seconds())

	// Messages listed but not returned: gone (expunged by someone else)
	// or unreadable. The checkpoint may pass gone ones, not unreadable ones.
	var missing []imap.UID
	for _, u := range uids {
		if _, ok := got[u]; !ok {
			missing = append(missing, u)
		}
	}
	stuck, err := s.stillThere(missing)
	if err != nil {
		return err
	}
	var retry []imap.UID
	for _, u := range stuck {
		key := folder + "/" + strconv.FormatUint(uint64(u), 10)
		b.attempts[key]++
		if b.attempts[key] < maxBodyAttempts {
			retry = append(retry, u)
			continue
		}
		delete(b.attempts, key)
		ref := s.ref(folder, cp.UIDValidity, u)
		got[u] = ingest.Item{Source: flow.SourceMail, SourceRef: ref, DedupKey: "unreadable:" + ref, Raw: []byte{},
			Meta: s.meta(folder, cp.UIDValidity, infos[u]), Scope: s.scope(folder),
			Failed: fmt.Sprintf("the IMAP server listed uid %d in %s but did not return it in %d attempts", u, folder, maxBodyAttempts)}
	}
	last := uint32(uids[len(uids)-1])
	if len(retry) > 0 {
		last = uint32(retry[0]) - 1
	}
	var items []ingest.Item
	var itemUIDs []imap.UID
	var raw int64
	for _, u := range uids {
		if it, ok := got[u]; ok && uint32(u) <= last {
			items = append(items, it)
			itemUIDs = append(itemUIDs, u)
			raw += int64(len(it.Raw))
		}
	}
	next := store.MailboxCheckpoint{Mailbox: cfg.Name, Folder: folder, UIDValidity: cp.UIDValidity, LastUID: max(last, cp.LastUID), RescanUntil: cp.RescanUntil}
	start = time.Now()
	results, err := b.m.inbox.Put(ctx, items, func(ctx context.Context, tx pgx.Tx) error {
		return b.m.store.SaveMailboxCheckpoint(ctx, tx, next, b.m.opts.Holder)
	})
	if err != nil {
		return fmt.Errorf("committing %d messages: %w", len(items), err)
	}
	b.m.metrics.commitTime.WithLabelValues(cfg.Name).Observe(time.Since(start).Seconds())
	*cp = next
	failed := map[imap.UID]bool{}
	for i, r := range results {
		b.m.metrics.fetched.WithLabelValues(cfg.Name, r.Status).Inc()
		failed[itemUIDs[i]] = r.Status == ingest.StatusFailed
		delete(b.attempts, folder+"/"+strconv.FormatUint(uint64(itemUIDs[i]), 10))
	}
	b.m.metrics.bytes.WithLabelValues(cfg.Name).Add(float64(raw))
	b.mu.Lock()
	remaining := b.backlog[folder] - int64(len(uids)-len(retry))
	b.mu.Unlock()
	b.setBacklog(ctx, folder, remaining)
	b.log.Debug("committed", "folder", folder, "count", len(items), "bytes", raw, "last_uid", next.LastUID)

	if h := b.m.opts.afterCommit; h != nil {
		h(cfg.Name, folder, itemUIDs)
	}
	if err := s.ack(itemUIDs, failed); err != nil {
		return err
	}
	if len(retry) > 0 {
		return fmt.Errorf("uid %d and %d more: listed by the server but not returned; retrying", retry[0], len(retry)-1)
	}
	return nil
}

// fetchBodies fetches section of uids into got, reading each literal straight
// into a buffer of its announced size.
func (s *session) fetchBodies(folder string, cp *store.MailboxCheckpoint, uids []imap.UID, section *imap.FetchItemBodySection, infos map[imap.UID]msgInfo, got map[imap.UID]ingest.Item) error {
	if len(uids) == 0 {
		return nil
	}
	cfg := &s.b.cfg
	cmd := s.c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}})
	for {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		var uid imap.UID
		var raw []byte
		for {
			item := msg.Next()
			if item == nil {
				break
			}
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				uid = it.UID
			case imapclient.FetchItemDataBodySection:
				if it.Literal == nil {
					// NIL: Dovecot's answer for a message expunged by
					// another session that this one has not been told of.
					continue
				}
				n := it.Literal.Size()
				if n > int64(cfg.MaxMessageSize)+(1<<20) {
					// Larger than its RFC822.SIZE said: keep memory bounded
					// and let the next pass store its header.
					io.Copy(io.Discard, it.Literal) //nolint:errcheck
					continue
				}
				buf := make([]byte, n)
				if _, err := io.ReadFull(it.Literal, buf); err != nil {
					cmd.Close()
					return fmt.Errorf("reading uid %d: %w", uid, err)
				}
				raw = buf
			}
		}
		if uid == 0 || raw == nil || !slices.Contains(uids, uid) {
			continue
		}
		inf := infos[uid]
		it := ingest.Item{Source: flow.SourceMail, SourceRef: s.ref(folder, cp.UIDValidity, uid),
			MessageID: parsers.MessageID(raw), Raw: raw, Meta: s.meta(folder, cp.UIDValidity, inf),
			Scope: s.scope(folder), Rescan: uint32(uid) <= cp.RescanUntil}
		if section.Specifier == imap.PartSpecifierHeader {
			it.Failed = fmt.Sprintf("message is %d bytes, over max_message_size %d: only its header was stored", inf.size, cfg.MaxMessageSize)
		} else if it.MessageID != "" {
			it.DedupKey = "mid:" + it.MessageID
		}
		got[uid] = it
	}
	if err := cmd.Close(); err != nil && !isNo(err) {
		return fmt.Errorf("fetching %d messages: %w", len(uids), err)

	}
	return nil
}

func (s *session) meta(folder string, validity uint32, inf msgInfo) map[string]any {
	m := map[string]any{"mailbox": s.b.cfg.Name, "folder": folder, "uidvalidity": validity, "uid": uint32(inf.uid), "size": inf.size}
	if !inf.date.IsZero() {
		m["internal_date"] = inf.date.UTC().Format(time.RFC3339)
	}
	return m
}

// stillThere returns which of uids the folder still holds (after letting the
// server report expunges).
func (s *session) stillThere(uids []imap.UID) ([]imap.UID, error) {
	if len(uids) == 0 {
		return nil, nil
	}
	if err := s.c.Noop().Wait(); err != nil {
		return nil, fmt.Errorf("NOOP: %w", err)
	}
	data, err := s.c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{imap.UIDSetNum(uids...)}}, nil).Wait()
	if err != nil {
		return nil, fmt.Errorf("searching missing messages: %w", err)
	}
	var out []imap.UID
	for _, u := range data.AllUIDs() {
		if slices.Contains(uids, u) {
			out = append(out, u)
		}
	}
	slices.Sort(out)
	return out, nil
}

// isNo reports a NO from the server (some messages could not be fetched):
// what was returned is still good.
func isNo(err error) bool {
	var ierr *imap.Error
	return errors.As(err, &ierr) && ierr.Type == imap.StatusResponseTypeNo
}
