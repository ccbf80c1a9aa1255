package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/intakehq/intake/replay"
)

// Trier runs messages through the stages in a transaction that is rolled
// back, as `intake try` does, and returns what each would become.
// A message already stored is tried as new (its Result names the stored
// item) unless dedup, which makes it the duplicate the pipeline would see.
type Trier func(ctx context.Context, msgs []replay.Message, dedup bool) ([]replay.Result, error)

// maxTryBytes bounds what one try request may upload, all files together.
const maxTryBytes = 32 << 20

// try answers POST /api/v1/try: a multipart form with one or more "file"
// parts (.eml) and an optional field dedup=1 (a message already stored is a
// duplicate of it, as in the pipeline; by default it is tried as new and
// the result's "stored" names the stored item). Nothing is written and no
// ticket number is used up.
func (s *Server) try(w http.ResponseWriter, r *http.Request) {
	if s.Try == nil {
		s.writeError(w, r, unprocessable{errString("trying messages is not available on this server")})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxTryBytes)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.writeError(w, r, badRequest{fmt.Errorf("the files are larger than %d MiB together", maxTryBytes>>20)})
			return
		}
		s.writeError(w, r, badRequest{fmt.Errorf("body must be a multipart form with one or more \"file\" parts: %w", err)})
		return
	}
	defer r.MultipartForm.RemoveAll() //nolint:errcheck
	files := r.MultipartForm.File["file"]
	if len(files) == 0 {
		s.writeError(w, r, badRequest{errString(`no "file" part: send the messages as files named "file"`)})
		return
	}
	msgs := make([]replay.Message, 0, len(files))
	for _, fh := range files {
		f, err := fh.Open()
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		raw, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		msgs = append(msgs, replay.Message{Name: fh.Filename, Raw: raw})
	}
	// Files run in the order of their names, as `intake try` runs a
	// folder's: an order before its follow-up.
	slices.SortStableFunc(msgs, func(a, b replay.Message) int { return strings.Compare(a.Name, b.Name) })
	dedup := r.FormValue("dedup") == "1" || r.FormValue("dedup") == "true"
	res, err := s.Try(r.Context(), msgs, dedup)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": res})
}
