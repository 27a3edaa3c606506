package kositest

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/release-bot/release-bot/internal/release"
)

// Artifact is one artifact running in an environment's snapshot.
type Artifact struct {
	Name        string
	Fingerprint string
	// Flow and CommitURL are empty for an artifact with no provenance.
	Flow      string
	CommitURL string
	// Instances is how many instances run; 0 means exited (it stays in the snapshot, annotation.now 0).
	Instances int
	// Started holds one start time per instance; missing ones are the snapshot's time.
	Started   []time.Time
	Compliant bool
}

type snapshot struct {
	index     int
	taken     time.Time
	artifacts []Artifact
}

type environment struct {
	name, typ, description string
	snapshots              []snapshot
}

func (e *environment) latest() (snapshot, bool) {
	if len(e.snapshots) == 0 {
		return snapshot{}, false
	}
	return e.snapshots[len(e.snapshots)-1], true
}

// AddEnvironment creates an environment with no snapshot yet (type e.g. "K8S", "ECS").
// It does nothing to an environment that exists.
func (s *Server) AddEnvironment(name, typ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.env(name, typ)
}

// env returns the environment, creating it; s.mu must be held.
func (s *Server) env(name, typ string) *environment {
	if e, ok := s.envs[name]; ok {
		return e
	}
	if typ == "" {
		typ = "K8S"
	}
	e := &environment{name: name, typ: typ, description: "fake environment " + name}
	s.envs[name] = e
	s.envOrder = append(s.envOrder, name)
	return e
}

// SetEnvironment reports what env runs now: a new snapshot, numbered one past
// the last, taken at the server clock's time. It creates the environment when
// needed and returns the snapshot's index. Artifacts running before and absent
// now appear in the new snapshot as exited, as they do in Kosli.
func (s *Server) SetEnvironment(name string, artifacts []Artifact) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.env(name, "")
	index := 1
	if last, ok := e.latest(); ok {
		index = last.index + 1
	}
	s.appendSnapshot(e, index, artifacts)
	return index
}

// RecreateEnvironment plays an environment archived and created again under
// the same name: `kosli archive environment` hides it, keeping its data
// (kosli-dev/cli cmd/kosli/archiveEnvironment.go), and the new one starts
// with no snapshots, so its next is #1 again (*inferred*: snapshot indexes
// are 1-based positions, "len(snapshots) == 3. Indexes are 1-based" in
// cmd/kosli/getSnapshot_test.go). Snapshots of the old one are gone.
func (s *Server) RecreateEnvironment(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.env(name, "")
	e.snapshots = nil
}

// appendSnapshot adds a snapshot; s.mu must be held.
func (s *Server) appendSnapshot(e *environment, index int, artifacts []Artifact) {
	taken := s.now()
	arts := make([]Artifact, 0, len(artifacts))
	now := map[string]bool{}
	for _, a := range artifacts {
		a.Started = append([]time.Time(nil), a.Started...)
		for len(a.Started) < a.Instances {
			a.Started = append(a.Started, taken)
		}
		arts = append(arts, a)
		if a.Instances > 0 {
			now[a.Fingerprint] = true
		}
	}
	if last, ok := e.latest(); ok {
		for _, a := range last.artifacts {
			if a.Instances > 0 && !now[a.Fingerprint] {
				a.Instances, a.Started = 0, nil
				arts = append(arts, a)
				now[a.Fingerprint] = true // once, even when listed twice before
			}
		}
	}
	e.snapshots = append(e.snapshots, snapshot{index: index, taken: taken, artifacts: arts})
}

var snapshotNumber = regexp.MustCompile(`#(\d+)$`)

// LoadDiff seeds sourceEnv and targetEnv from a diff document so that GET
// /env-diff recomputes an equivalent diff: the source runs snappish1, changed
// and not-changed; the target snappish2, changed and not-changed. Snapshot
// numbers come from the diff's snapshot ids when they carry one. A release.Diff
// keeps one instance count per changed artifact, so the target is given one
// instance more, which keeps it changed.
func (s *Server) LoadDiff(sourceEnv, targetEnv string, d release.Diff) error {
	toArtifacts := func(groups ...[]release.Artifact) []Artifact {
		var out []Artifact
		for _, g := range groups {
			for _, a := range g {
				out = append(out, fromRelease(a, 0))
			}
		}
		return out
	}
	source := toArtifacts(d.Source.Artifacts, d.Changed.Artifacts, d.NotChanged.Artifacts)
	target := toArtifacts(d.Target.Artifacts)
	for _, a := range d.Changed.Artifacts {
		target = append(target, fromRelease(a, 1))
	}
	target = append(target, toArtifacts(d.NotChanged.Artifacts)...)

	s.mu.Lock()
	defer s.mu.Unlock()
	for _, side := range []struct {
		env, id string
		arts    []Artifact
	}{{sourceEnv, d.Source.SnapshotID, source}, {targetEnv, d.Target.SnapshotID, target}} {
		e := s.env(side.env, "")
		index := 1
		if last, ok := e.latest(); ok {
			index = last.index + 1
		}
		if m := snapshotNumber.FindStringSubmatch(side.id); m != nil {
			n, _ := strconv.Atoi(m[1])
			if n < index {
				return fmt.Errorf("kositest: %s already has snapshot #%d, cannot load #%d", side.env, index-1, n)
			}
			index = n
		}
		s.appendSnapshot(e, index, side.arts)
	}
	return nil
}

func fromRelease(a release.Artifact, extra int) Artifact {
	n := a.InstanceCount + extra
	started := make([]time.Time, n)
	for i := range started {
		started[i] = time.Unix(int64(a.MostRecentTimestamp), 0).UTC()
	}
	return Artifact{
		Name: a.Name, Fingerprint: a.Fingerprint, Flow: a.Flow, CommitURL: a.CommitURL,
		Instances: n, Started: started, Compliant: true,
	}
}

// snapshotJSON renders a snapshot as GET /snapshots does; s.mu must be held.
func (s *Server) snapshotJSON(e *environment, i int) map[string]any {
	snap := e.snapshots[i]
	was := map[string]int{}
	if i > 0 {
		for _, a := range e.snapshots[i-1].artifacts {
			was[a.Fingerprint] = a.Instances
		}
	}
	compliant := true
	arts := make([]map[string]any, 0, len(snap.artifacts))
	for _, a := range snap.artifacts {
		if a.Instances > 0 && !a.Compliant {
			compliant = false
		}
		created := make([]int64, 0, len(a.Started))
		for _, t := range a.Started {
			created = append(created, t.Unix())
		}
		if s.forgotten[a.Fingerprint] {
			a.Flow, a.CommitURL = "", ""
		}
		commit := commitOf(a.CommitURL)
		reasons := []string{}
		if !a.Compliant {
			reasons = append(reasons, "not compliant in the fake")
		}
		flows := []map[string]string{}
		if a.Flow != "" {
			flows = append(flows, map[string]string{
				"flow_name": a.Flow, "trail_name": commit, "template_reference_name": strings.TrimSuffix(a.Flow, "-ci"),
				"git_commit": commit, "commit_url": a.CommitURL,
			})
		}
		arts = append(arts, map[string]any{
			"name": a.Name, "fingerprint": a.Fingerprint, "compliant": a.Compliant,
			"reasons_for_incompliance": reasons, "creationTimestamp": created,
			"annotation": map[string]any{"type": annotationType(was[a.Fingerprint], a), "was": was[a.Fingerprint], "now": a.Instances},
			"flow_name":  a.Flow, "git_commit": commit, "commit_url": a.CommitURL,
			"html_url": fmt.Sprintf("%s/%s/flows/%s/artifacts/%s", s.webBase, s.org, a.Flow, a.Fingerprint),
			"flows":    flows,
		})
	}
	return map[string]any{
		"index": snap.index, "timestamp": float64(snap.taken.UnixNano()) / 1e9, "type": e.typ,
		"compliant": compliant, "is_latest": i == len(e.snapshots)-1,
		"html_url":  fmt.Sprintf("%s/%s/environments/%s/snapshots/%d", s.webBase, s.org, e.name, snap.index),
		"artifacts": arts,
	}
}

func annotationType(was int, a Artifact) string {
	switch {
	case a.Instances == 0:
		return "exited"
	case was == 0 && a.Compliant:
		return "started-compliant"
	case was == 0:
		return "started-non-compliant"
	case was != a.Instances:
		return "scaled"
	}
	return "unchanged"
}

var shaTail = regexp.MustCompile(`[0-9a-f]{40}$`)

func commitOf(commitURL string) string { return shaTail.FindString(commitURL) }

// serveSnapshot answers GET /snapshots/{org}/{env}/{expr}: "-1" (or any -N), "#N", "N" or "~N".
func (s *Server) serveSnapshot(w http.ResponseWriter, env, expr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, i, status, msg := s.find(env, expr)
	if status != 0 {
		writeMessage(w, status, msg)
		return
	}
	writeJSON(w, http.StatusOK, s.snapshotJSON(e, i))
}

// find resolves an environment and a snapshot expression; when there is no
// such snapshot it gives the status and message to answer with. s.mu must be held.
func (s *Server) find(env, expr string) (e *environment, i, status int, msg string) {
	e, ok := s.envs[env]
	if !ok {
		return nil, 0, http.StatusNotFound, noSuchEnv(env, s.org)
	}
	if len(e.snapshots) == 0 {
		return nil, 0, http.StatusBadRequest, fmt.Sprintf("Environment '%s' has no snapshots", e.name)
	}
	if i, msg = resolve(s.org, e, expr); msg != "" {
		return nil, 0, http.StatusNotFound, msg
	}
	return e, i, 0, ""
}

// resolve finds the snapshot an expression names; the message says why none.
func resolve(org string, e *environment, expr string) (int, string) {
	var (
		n   int
		err error
	)
	switch {
	case strings.HasPrefix(expr, "#"):
		n, err = strconv.Atoi(expr[1:])
	case strings.HasPrefix(expr, "~"):
		n, err = strconv.Atoi(expr[1:])
		n = -n - 1
	case strings.HasPrefix(expr, "@"):
		return e.at(expr)
	default:
		n, err = strconv.Atoi(expr)
	}
	if err != nil {
		return 0, fmt.Sprintf("Bad snapshot expression '%s'", expr)
	}
	if n < 0 {
		i := len(e.snapshots) + n
		if i < 0 {
			return 0, fmt.Sprintf("Snapshot %s%s does not exist", e.name, expr)
		}
		return i, ""
	}
	for i, sn := range e.snapshots {
		if sn.index == n {
			return i, ""
		}
	}
	// Kosli's words, from kosli-dev/cli cmd/kosli/getSnapshot_test.go
	// ("getting non-existing snapshot fails"): "Org: 'docs-cmd-test-user'.
	// Snapshot 'get-snapshot-env#23' resolves to 'get-snapshot-env#23'.
	// len(snapshots) == 3. Indexes are 1-based".
	return 0, fmt.Sprintf("Org: '%s'. Snapshot '%s%s' resolves to '%s#%d'. len(snapshots) == %d. Indexes are 1-based",
		org, e.name, expr, e.name, n, len(e.snapshots))
}

func noSuchEnv(env, org string) string {
	return fmt.Sprintf("Environment named '%s' does not exist for organization '%s'", env, org)
}

// serveEnvironments answers GET /environments/{org} and /environments/{org}/{env}.
func (s *Server) serveEnvironments(w http.ResponseWriter, rest []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(rest) == 1 {
		e, ok := s.envs[rest[0]]
		if !ok {
			writeMessage(w, http.StatusNotFound, noSuchEnv(rest[0], s.org))
			return
		}
		writeJSON(w, http.StatusOK, s.environmentJSON(e))
		return
	}
	list := make([]map[string]any, 0, len(s.envOrder))
	for _, name := range s.envOrder {
		list = append(list, s.environmentJSON(s.envs[name]))
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) environmentJSON(e *environment) map[string]any {
	out := map[string]any{
		"name": e.name, "type": e.typ, "description": e.description,
		"state": nil, "last_reported_at": nil, "last_modified_at": nil, "tags": map[string]string{},
	}
	if last, ok := e.latest(); ok {
		out["state"] = s.snapshotJSON(e, len(e.snapshots)-1)["compliant"]
		out["last_reported_at"] = float64(last.taken.Unix())
		out["last_modified_at"] = float64(last.taken.Unix())
	}
	return out
}

var (
	momentExpr   = regexp.MustCompile(`^@\{(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\}$`)
	relativeExpr = regexp.MustCompile(`^@\{(\d+)\.(hours?|days?|weeks?|months?)\.ago\}$`)
)

// at resolves "@{YYYY-MM-DDTHH:MM:SS}" (UTC) and "@{N.<hours|days|weeks|months>.ago}",
// the forms kosli-dev/cli cmd/kosli/getSnapshot.go documents, to the latest
// snapshot taken at or before that moment. A relative moment is measured from
// the newest snapshot's time (the fake's clock may stand still); a month is 30
// days. Both, and the message for a moment before the first snapshot, are *inferred*.
func (e *environment) at(expr string) (int, string) {
	var moment time.Time
	if m := momentExpr.FindStringSubmatch(expr); m != nil {
		t, err := time.ParseInLocation("2006-01-02T15:04:05", m[1], time.UTC)
		if err != nil {
			return 0, fmt.Sprintf("Bad snapshot expression '%s'", expr)
		}
		moment = t
	} else if m := relativeExpr.FindStringSubmatch(expr); m != nil {
		n, _ := strconv.Atoi(m[1])
		unit := map[byte]time.Duration{'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour, 'm': 30 * 24 * time.Hour}[m[2][0]]
		last, _ := e.latest()
		moment = last.taken.Add(-time.Duration(n) * unit)
	} else {
		return 0, fmt.Sprintf("Bad snapshot expression '%s'", expr)
	}
	found := -1
	for i, sn := range e.snapshots {
		if !sn.taken.After(moment) {
			found = i
		}
	}
	if found < 0 {
		return 0, fmt.Sprintf("Snapshot %s%s does not exist", e.name, expr)
	}
	return found, ""
}
