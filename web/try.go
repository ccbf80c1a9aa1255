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
type Trier func(ctx context.Context, msgs []replay.Message, asNew bool) ([]replay.Result, error)

// maxTryBytes bounds what one try request may upload, all files together.
const maxTryBytes = 32 << 20

// try answers POST /api/v1/try: a multipart form with one or more "file"
// parts (.eml) and an optional field as_new=1 (process messages already
// stored as if new). Nothing is written.
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
	asNew := r.FormValue("as_new") == "1" || r.FormValue("as_new") == "true"
	res, err := s.Try(r.Context(), msgs, asNew)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": res})
}
