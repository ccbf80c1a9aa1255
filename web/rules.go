package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// rulesRequest carries rule and format files: {"files": {"name.yaml": "..."}}.
type rulesRequest struct {
	Files map[string]string `json:"files"`
	By    string            `json:"by"`
}

func readRules(r *http.Request) (map[string][]byte, string, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		return nil, "", badRequest{err}
	}
	var req rulesRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, "", badRequest{errors.New(`body must be {"files": {"name.yaml": "<yaml>"}}: ` + err.Error())}
	}
	if len(req.Files) == 0 {
		return nil, "", badRequest{errors.New("no files")}
	}
	files := make(map[string][]byte, len(req.Files))
	for k, v := range req.Files {
		files[k] = []byte(v)
	}
	return files, req.By, nil
}

func (s *Server) getRules(w http.ResponseWriter, r *http.Request) {
	rs, err := s.Store.LatestRuleSet(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rs)
}

func (s *Server) checkRules(w http.ResponseWriter, r *http.Request) {
	if s.Rules == nil {
		s.writeError(w, r, unprocessable{errString("rules are not configurable on this server")})
		return
	}
	files, _, err := readRules(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.Rules.Check(r.Context(), files); err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"ok": false, "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// applyRules stores a new version. A set with any error is refused whole and
// the version in force stays in force.
func (s *Server) applyRules(w http.ResponseWriter, r *http.Request) {
	if s.Rules == nil {
		s.writeError(w, r, unprocessable{errString("rules are not configurable on this server")})
		return
	}
	files, by, err := readRules(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.Rules.Apply(r.Context(), files, by)
	if err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"ok": false, "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "version": v})
}
