package kositest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"time"
)

// Flow is a flow as the fake recorded it from PUT /flows/{org}/template_file.
type Flow struct {
	Name        string
	Description string
	// Template is the uploaded template file's content.
	Template string
}

// Trail is a trail as the fake recorded it from PUT /trails/{org}/{flow}.
type Trail struct {
	Flow        string
	Name        string
	Description string
	OriginURL   string
	UserData    map[string]any
}

// Attestation is an attestation as the fake recorded it from
// POST /attestations/{org}/{flow}/trail/{trail}/{kind}.
type Attestation struct {
	Flow, Trail string
	// Kind is the endpoint: "custom", "generic" or "system".
	Kind                string
	Name                string
	TypeName            string
	Control             string
	Compliant           *bool
	ArtifactFingerprint string
	Annotations         map[string]string
	// Data is attestation_data, as sent.
	Data json.RawMessage
	// Payload is the whole data_json, decoded.
	Payload map[string]any
	// Created is the server clock's time when it was recorded.
	Created time.Time
}

var (
	namePattern          = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9.\-_~]*$`)
	annotationKeyPattern = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	fingerprintPattern   = regexp.MustCompile(`^([a-f0-9]{64})$`)
)

// Flows returns the flows created so far, in creation order.
func (s *Server) Flows() []Flow {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.flows)
}

// Trails returns the trails begun so far, in order.
func (s *Server) Trails() []Trail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.trails)
}

// Attestations returns every attestation recorded, in order.
func (s *Server) Attestations() []Attestation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.attestations)
}

// readDataJSON parses the multipart form and decodes its data_json field
// into each of vs; on failure it has answered the request.
func readDataJSON(w http.ResponseWriter, r *http.Request, vs ...any) bool {
	if err := r.ParseMultipartForm(10 << 20); err != nil {
		writeMessage(w, http.StatusBadRequest, "Expected a multipart form: "+err.Error())
		return false
	}
	raw := r.FormValue("data_json")
	if raw == "" {
		writeInvalid(w, "data_json", "Field required")
		return false
	}
	for _, v := range vs {
		if err := json.Unmarshal([]byte(raw), v); err != nil {
			writeInvalid(w, "data_json", "Invalid JSON: "+err.Error())
			return false
		}
	}
	return true
}

// named is a multipart write of a named thing: data_json {"name","description"} and an optional file.
type named struct{ name, description, file string }

// readNamed reads a named write, its name checked; on failure it has answered the request.
func readNamed(w http.ResponseWriter, r *http.Request, fileField string) (named, bool) {
	var in struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if !readDataJSON(w, r, &in) {
		return named{}, false
	}
	if !namePattern.MatchString(in.Name) {
		writeInvalid(w, "name", fmt.Sprintf("'%s' does not match '%s'", in.Name, namePattern))
		return named{}, false
	}
	out := named{name: in.Name, description: in.Description}
	if file, _, err := r.FormFile(fileField); err == nil {
		b, _ := io.ReadAll(file)
		_ = file.Close()
		out.file = string(b)
	}
	return out, true
}

// serveFlow answers PUT /flows/{org}/template_file: 201 created, 200 updated.
func (s *Server) serveFlow(w http.ResponseWriter, r *http.Request) {
	in, ok := readNamed(w, r, "template_file")
	if !ok {
		return
	}
	f := Flow{Name: in.name, Description: in.description, Template: in.file}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.flows {
		if s.flows[i].Name == f.Name {
			s.flows[i] = f
			writeMessage(w, http.StatusOK, "Flow '"+f.Name+"' was updated")
			return
		}
	}
	s.flows = append(s.flows, f)
	writeMessage(w, http.StatusCreated, "Flow '"+f.Name+"' was created")
}

// hasFlow reports whether the flow exists; s.mu must be held.
func (s *Server) hasFlow(name string) bool {
	return slices.ContainsFunc(s.flows, func(f Flow) bool { return f.Name == name })
}

// serveTrail answers PUT /trails/{org}/{flow}: 201 begun, 200 updated.
func (s *Server) serveTrail(w http.ResponseWriter, r *http.Request, flow string) {
	var in struct {
		Name        string         `json:"name"`
		Description string         `json:"description"`
		OriginURL   string         `json:"origin_url"`
		UserData    map[string]any `json:"user_data"`
	}
	if !readDataJSON(w, r, &in) {
		return
	}
	if !namePattern.MatchString(in.Name) {
		writeInvalid(w, "name", fmt.Sprintf("'%s' does not match '%s'", in.Name, namePattern))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasFlow(flow) {
		writeMessage(w, http.StatusNotFound, noSuchFlow(flow, s.org))
		return
	}
	if s.conflicted(w, in.Name) {
		return
	}
	t := Trail{Flow: flow, Name: in.Name, Description: in.Description, OriginURL: in.OriginURL, UserData: in.UserData}
	for i := range s.trails {
		if s.trails[i].Flow == flow && s.trails[i].Name == t.Name {
			s.trails[i] = t
			writeMessage(w, http.StatusOK, "Trail '"+t.Name+"' was updated")
			return
		}
	}
	s.trails = append(s.trails, t)
	writeMessage(w, http.StatusCreated, "Trail '"+t.Name+"' was begun")
}

// serveAttestation answers POST /attestations/{org}/{flow}/trail/{trail}/{kind}.
func (s *Server) serveAttestation(w http.ResponseWriter, r *http.Request, flow, trail, kind string) {
	if kind != "custom" && kind != "generic" && kind != "system" {
		writeMessage(w, http.StatusNotFound, "Not Found")
		return
	}
	var payload map[string]any
	var in struct {
		Name                string            `json:"attestation_name"`
		TypeName            string            `json:"type_name"`
		Control             string            `json:"control"`
		IsCompliant         *bool             `json:"is_compliant"`
		ArtifactFingerprint string            `json:"artifact_fingerprint"`
		Annotations         map[string]string `json:"annotations"`
		Data                json.RawMessage   `json:"attestation_data"`
	}
	if !readDataJSON(w, r, &payload, &in) {
		return
	}
	if field, problem := checkAttestation(kind, in.Name, in.TypeName, in.Control, in.Data, in.Annotations); field != "" {
		writeInvalid(w, field, problem)
		return
	}
	a := Attestation{
		Flow: flow, Trail: trail, Kind: kind, Name: in.Name, TypeName: in.TypeName, Control: in.Control,
		Compliant: in.IsCompliant, ArtifactFingerprint: in.ArtifactFingerprint, Annotations: in.Annotations,
		Data: in.Data, Payload: payload, Created: s.clock(),
	}
	if kind == "system" {
		var d struct {
			IsCompliant *bool `json:"is_compliant"`
		}
		_ = json.Unmarshal(in.Data, &d)
		a.Compliant = d.IsCompliant
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.trailExists(w, flow, trail) {
		return
	}
	if s.conflicted(w, trail) {
		return
	}
	if a.ArtifactFingerprint != "" && !s.reportedIn(flow, trail, a.ArtifactFingerprint) {
		// The status is *inferred*: the CLI's tests show only the message.
		writeMessage(w, http.StatusNotFound, noArtifactInTrail(a.ArtifactFingerprint, trail, flow, s.org))
		return
	}
	if kind == "custom" && s.attestationType(a.TypeName) == nil {
		writeMessage(w, http.StatusNotFound, noSuchType(a.TypeName, s.org))
		return
	}
	if kind == "system" && s.control(a.Control) == nil {
		writeMessage(w, http.StatusNotFound, noSuchControl(a.Control, s.org))
		return
	}
	s.attestations = append(s.attestations, a)
	writeMessage(w, http.StatusCreated, "OK")
}

// clock is the server's time now; s.mu must be held.
func (s *Server) clock() time.Time { return s.now() }

// trailExists answers 404 when flow or its trail does not exist; s.mu must be held.
func (s *Server) trailExists(w http.ResponseWriter, flow, trail string) bool {
	if !s.hasFlow(flow) {
		writeMessage(w, http.StatusNotFound, noSuchFlow(flow, s.org))
		return false
	}
	if !s.hasTrail(flow, trail) {
		writeMessage(w, http.StatusNotFound, noSuchTrail(flow, trail))
		return false
	}
	return true
}

// hasTrail reports whether the trail exists in flow; s.mu must be held.
func (s *Server) hasTrail(flow, trail string) bool {
	return slices.ContainsFunc(s.trails, func(t Trail) bool { return t.Flow == flow && t.Name == trail })
}

func noSuchFlow(flow, org string) string {
	return fmt.Sprintf("Flow '%s' does not exist in organization '%s'", flow, org)
}

func noSuchTrail(flow, trail string) string {
	return fmt.Sprintf("Trail '%s' does not exist in flow '%s'", trail, flow)
}

// serveTrailAttestations answers GET /attestations/{org}/{flow}/trail/{trail}/{name}
// as `kosli get attestation NAME --flow F --trail T` reads it
// (kosli-dev/cli cmd/kosli/getAttestation.go): a bare list, [] when none.
func (s *Server) serveTrailAttestations(w http.ResponseWriter, flow, trail, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.trailExists(w, flow, trail) {
		return
	}
	out := []map[string]any{}
	for _, a := range s.attestations {
		if a.Flow != flow || a.Trail != trail || a.Name != name {
			continue
		}
		m := map[string]any{
			"attestation_name": a.Name, "attestation_type": attestationType(a), "is_compliant": a.compliant(),
			"created_at": float64(a.Created.UnixNano()) / 1e9,
			"html_url":   fmt.Sprintf("%s/%s/flows/%s/trails/%s", s.webBase, s.org, flow, trail),
			"user_data":  a.Payload["user_data"], "origin_url": a.Payload["origin_url"],
		}
		if a.ArtifactFingerprint != "" {
			m["artifact_fingerprint"] = a.ArtifactFingerprint
		}
		out = append(out, m)
	}
	writeJSON(w, http.StatusOK, out)
}

// attestationType names an attestation's type as the fake shows it; the
// "custom:" prefix is *inferred* from the CLI's own output ("custom:person
// attestation 'foo' is reported", cmd/kosli/attestCustom_test.go).
func attestationType(a Attestation) string {
	switch a.Kind {
	case "custom":
		return "custom:" + a.TypeName
	case "system":
		return a.TypeName
	}
	return a.Kind
}

// compliant is the attestation's verdict; a custom one without a verdict
// counts as compliant (the fake runs no evaluator).
func (a Attestation) compliant() bool { return a.Compliant == nil || *a.Compliant }

// checkAttestation names the invalid field and its problem; "" when the attestation is valid.
func checkAttestation(kind, name, typeName, control string, data json.RawMessage, annotations map[string]string) (field, problem string) {
	if name == "" {
		return "attestation_name", "Field required"
	}
	if field, problem := checkAnnotations(annotations); field != "" {
		return field, problem
	}
	switch kind {
	case "custom":
		if typeName == "" {
			return "type_name", "Field required"
		}
	case "system":
		var d struct {
			IsCompliant *bool `json:"is_compliant"`
		}
		if typeName != "decision" || control == "" {
			return "type_name", "a system attestation needs type_name 'decision' and a control"
		}
		if json.Unmarshal(data, &d) != nil || d.IsCompliant == nil {
			return "attestation_data", "is_compliant is required"
		}
	}
	return "", ""
}

// checkAnnotations names the invalid field and its problem; "" when all keys are valid.
func checkAnnotations(annotations map[string]string) (field, problem string) {
	keys := make([]string, 0, len(annotations))
	for k := range annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !annotationKeyPattern.MatchString(k) {
			return "annotations", fmt.Sprintf("key '%s' does not match '%s'", k, annotationKeyPattern)
		}
	}
	return "", ""
}
