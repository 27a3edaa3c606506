package kositest

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// Control is one of the org's controls, as the fake holds it.
type Control struct {
	Identifier  string
	Name        string
	Description string
	Created     time.Time
}

// controlIDPattern is the server's rule, as kosli-dev/cli
// cmd/kosli/createControl_test.go shows it refusing "bad identifier".
var controlIDPattern = regexp.MustCompile(`^[a-zA-Z0-9\-._~]+$`)

// AddControl gives the org a control (or renames one it has).
func (s *Server) AddControl(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.control(id); c != nil {
		c.Name = name
		return
	}
	s.controls = append(s.controls, Control{Identifier: id, Name: name, Created: s.now()})
}

// DeleteControl removes a control, as if it had never been created.
func (s *Server) DeleteControl(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.controls = slices.DeleteFunc(s.controls, func(c Control) bool { return c.Identifier == id })
}

// Controls returns the org's controls, in creation order.
func (s *Server) Controls() []Control {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.controls)
}

// control finds a control; s.mu must be held.
func (s *Server) control(id string) *Control {
	for i := range s.controls {
		if s.controls[i].Identifier == id {
			return &s.controls[i]
		}
	}
	return nil
}

// noSuchControl is the server's 404 for an unknown control, as kosli-dev/cli
// cmd/kosli/getControl_test.go ("^Error: Control 'no-such-control' does not
// exist in org") and tag_test.go ("Control 'no-such-control' does not exist
// in organization") show it.
func noSuchControl(id, org string) string {
	return fmt.Sprintf("Control '%s' does not exist in organization '%s'", id, org)
}

func (s *Server) controlJSON(c Control) map[string]any {
	var desc any
	if c.Description != "" {
		desc = c.Description
	}
	return map[string]any{
		"identifier": c.Identifier, "name": c.Name, "description": desc, "archived": false,
		"created_at": float64(c.Created.UnixNano()) / 1e9, "tags": map[string]string{},
	}
}

// serveControl answers GET /controls/{org}/{identifier}.
func (s *Server) serveControl(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.control(id)
	if c == nil {
		writeMessage(w, http.StatusNotFound, noSuchControl(id, s.org))
		return
	}
	writeJSON(w, http.StatusOK, s.controlJSON(*c))
}

// serveControlList answers GET /controls/{org}?page=&per_page=, paged as
// `kosli list controls` reads it (kosli-dev/cli cmd/kosli/listControls.go):
// {controls, page, total_pages, total_count}. The default page size is *inferred*.
func (s *Server) serveControlList(w http.ResponseWriter, r *http.Request) {
	page, perPage := 1, 20
	if v := r.URL.Query().Get("page"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			page = n
		}
	}
	if v := r.URL.Query().Get("per_page"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			perPage = n
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	total := len(s.controls)
	list := []map[string]any{}
	for i := (page - 1) * perPage; i < total && i < page*perPage; i++ {
		list = append(list, s.controlJSON(s.controls[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"controls": list, "page": page, "total_pages": (total + perPage - 1) / perPage, "total_count": total,
	})
}

// serveCreateControl answers POST /controls/{org} {"identifier","name","description"?}
// (kosli-dev/cli cmd/kosli/createControl.go; its test shows the duplicate
// and the pattern refusals). 201 is *inferred*; a duplicate is a 409, which
// the CLI does not retry (DisableConflictRetry).
func (s *Server) serveCreateControl(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Identifier  string `json:"identifier"`
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if !controlIDPattern.MatchString(in.Identifier) {
		writeInvalid(w, "identifier", fmt.Sprintf("String should match pattern '%s' [input: %s]", controlIDPattern, in.Identifier))
		return
	}
	if in.Name == "" {
		writeInvalid(w, "name", "Field required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.control(in.Identifier) != nil {
		writeMessage(w, http.StatusConflict, fmt.Sprintf("A control with identifier '%s' already exists in organization '%s'", in.Identifier, s.org))
		return
	}
	c := Control{Identifier: in.Identifier, Name: in.Name, Description: in.Description, Created: s.now()}
	s.controls = append(s.controls, c)
	writeJSON(w, http.StatusCreated, s.controlJSON(c))
}

// AttestationType is a custom attestation type, as the fake holds it.
type AttestationType struct {
	Name        string
	Description string
	// Schema is the type_schema file of the latest version, "" without one.
	Schema string
	// Versions counts the times the type was created.
	Versions int
}

// AddAttestationType gives the org a custom attestation type (a new version
// when it exists). schema may be "".
func (s *Server) AddAttestationType(name, schema string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addType(AttestationType{Name: name, Schema: schema})
}

// AttestationTypes returns the org's custom attestation types, in creation order.
func (s *Server) AttestationTypes() []AttestationType {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.types)
}

// addType adds t, or a version of it; s.mu must be held.
func (s *Server) addType(t AttestationType) (created bool) {
	if old := s.attestationType(t.Name); old != nil {
		t.Versions = old.Versions + 1
		*old = t
		return false
	}
	t.Versions = 1
	s.types = append(s.types, t)
	return true
}

// attestationType finds a custom attestation type; s.mu must be held.
func (s *Server) attestationType(name string) *AttestationType {
	for i := range s.types {
		if s.types[i].Name == name {
			return &s.types[i]
		}
	}
	return nil
}

// noSuchType is the server's 404 for an unknown custom attestation type, as
// kosli-dev/cli cmd/kosli/getAttestationType_test.go shows it.
func noSuchType(name, org string) string {
	return fmt.Sprintf("Custom attestation type '%s' does not exist for org '%s'", name, org)
}

// serveAttestationType answers GET /custom-attestation-types/{org}/{name},
// with the fields `kosli get attestation-type` prints (kosli-dev/cli
// cmd/kosli/getAttestationType.go).
func (s *Server) serveAttestationType(w http.ResponseWriter, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.attestationType(name)
	if t == nil {
		writeMessage(w, http.StatusNotFound, noSuchType(name, s.org))
		return
	}
	versions := []map[string]any{}
	for v := 1; v <= t.Versions; v++ {
		versions = append(versions, map[string]any{"version": v})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"name": t.Name, "description": t.Description, "org": s.org, "archived": false, "versions": versions,
	})
}

// serveCreateAttestationType answers POST /custom-attestation-types/{org}:
// multipart data_json {"name","description"?,"evaluator"?} and an optional
// type_schema file (kosli-dev/cli cmd/kosli/createAttestationType.go). That
// creating an existing name adds a version, and the 201, are *inferred*.
func (s *Server) serveCreateAttestationType(w http.ResponseWriter, r *http.Request) {
	in, ok := readNamed(w, r, "type_schema")
	if !ok {
		return
	}
	t := AttestationType{Name: in.name, Description: in.description, Schema: in.file}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addType(t)
	writeMessage(w, http.StatusCreated, "Custom attestation type '"+t.Name+"' was created")
}
