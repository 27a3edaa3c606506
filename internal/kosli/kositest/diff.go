package kositest

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// diffArtifact is one artifact as GET /env-diff shows it. Flow and commit_url
// are null for an artifact with no provenance, as Kosli sends them.
type diffArtifact struct {
	Fingerprint         string  `json:"fingerprint"`
	Name                string  `json:"name"`
	MostRecentTimestamp int64   `json:"most_recent_timestamp"`
	Flow                *string `json:"flow"`
	CommitURL           *string `json:"commit_url"`
	InstanceCount       int     `json:"instance_count"`
	S1InstanceCount     *int    `json:"s1_instance_count,omitempty"`
	S2InstanceCount     *int    `json:"s2_instance_count,omitempty"`
}

type diffSide struct {
	SnapshotID string         `json:"snapshot_id"`
	Artifacts  []diffArtifact `json:"artifacts"`
}

type diffGroup struct {
	Artifacts []diffArtifact `json:"artifacts"`
}

type diffDoc struct {
	Snappish1  diffSide  `json:"snappish1"`
	Snappish2  diffSide  `json:"snappish2"`
	Changed    diffGroup `json:"changed"`
	NotChanged diffGroup `json:"not-changed"`
}

// serveEnvDiff answers GET /env-diff/{org}?snappish1=&snappish2=.
func (s *Server) serveEnvDiff(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	var snaps [2]snapshot
	var ids [2]string
	for i, key := range []string{"snappish1", "snappish2"} {
		snappish := q.Get(key)
		if strings.TrimSpace(snappish) == "" {
			writeMessage(w, http.StatusBadRequest, "Bad snappish "+snappish)
			return
		}
		name, expr := splitSnappish(snappish)
		e, idx, status, msg := s.find(name, expr)
		if status != 0 {
			writeMessage(w, status, msg)
			return
		}
		snaps[i] = e.snapshots[idx]
		ids[i] = fmt.Sprintf("%s#%d", name, snaps[i].index)
	}
	doc := computeDiff(ids, snaps)
	for _, l := range [][]diffArtifact{doc.Snappish1.Artifacts, doc.Snappish2.Artifacts, doc.Changed.Artifacts, doc.NotChanged.Artifacts} {
		for i := range l {
			if s.forgotten[l[i].Fingerprint] {
				l[i].Flow, l[i].CommitURL = nil, nil
			}
		}
	}
	writeJSON(w, http.StatusOK, doc)
}

// splitSnappish splits "env", "env#N", "env~N" into the environment and a
// snapshot expression resolve understands.
func splitSnappish(s string) (env, expr string) {
	if i := strings.IndexAny(s, "#~@"); i >= 0 {
		return s[:i], s[i:]
	}
	return s, "-1"
}

// computeDiff compares two snapshots as Kosli does: fingerprints running only
// in the first (snappish1), only in the second (snappish2), in both with a
// different instance count (changed) and in both alike (not-changed). Order
// follows each snapshot's own artifact order, so it is stable.
func computeDiff(ids [2]string, snaps [2]snapshot) diffDoc {
	running := func(sn snapshot) ([]Artifact, map[string]Artifact) {
		var list []Artifact
		byFP := map[string]Artifact{}
		for _, a := range sn.artifacts {
			if a.Instances > 0 {
				list = append(list, a)
				if _, seen := byFP[a.Fingerprint]; !seen {
					byFP[a.Fingerprint] = a
				}
			}
		}
		return list, byFP
	}
	list1, in1 := running(snaps[0])
	list2, in2 := running(snaps[1])
	d := diffDoc{
		Snappish1:  diffSide{SnapshotID: ids[0], Artifacts: []diffArtifact{}},
		Snappish2:  diffSide{SnapshotID: ids[1], Artifacts: []diffArtifact{}},
		Changed:    diffGroup{Artifacts: []diffArtifact{}},
		NotChanged: diffGroup{Artifacts: []diffArtifact{}},
	}
	for _, a := range list1 {
		other, common := in2[a.Fingerprint]
		switch {
		case !common:
			d.Snappish1.Artifacts = append(d.Snappish1.Artifacts, toDiff(a))
		case other.Instances != a.Instances:
			da := toDiff(a)
			s1, s2 := a.Instances, other.Instances
			da.S1InstanceCount, da.S2InstanceCount = &s1, &s2
			d.Changed.Artifacts = append(d.Changed.Artifacts, da)
		default:
			d.NotChanged.Artifacts = append(d.NotChanged.Artifacts, toDiff(a))
		}
	}
	for _, a := range list2 {
		if _, common := in1[a.Fingerprint]; !common {
			d.Snappish2.Artifacts = append(d.Snappish2.Artifacts, toDiff(a))
		}
	}
	return d
}

func toDiff(a Artifact) diffArtifact {
	var newest time.Time
	for _, t := range a.Started {
		if t.After(newest) {
			newest = t
		}
	}
	da := diffArtifact{Fingerprint: a.Fingerprint, Name: a.Name, InstanceCount: a.Instances}
	if !newest.IsZero() {
		da.MostRecentTimestamp = newest.Unix()
	}
	if a.Flow != "" {
		flow := a.Flow
		da.Flow = &flow
	}
	if a.CommitURL != "" {
		u := a.CommitURL
		da.CommitURL = &u
	}
	return da
}
