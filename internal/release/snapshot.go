package release

import (
	"net/url"
	"strings"
)

// SnapshotRef is an environment snapshot id such as "aws-beta#4754".
type SnapshotRef struct {
	ID          string
	Environment string
	// Index is the snapshot number as written after '#', "" when the id has none.
	Index string
}

// ParseSnapshotID splits "aws-beta#4754" into environment and index.
func ParseSnapshotID(id string) SnapshotRef {
	ref := SnapshotRef{ID: id, Environment: id}
	if i := strings.LastIndexByte(id, '#'); i >= 0 {
		ref.Environment, ref.Index = id[:i], id[i+1:]
	}
	return ref
}

// Links builds Kosli web links for one Kosli host and org.
type Links struct {
	// Host is e.g. https://app.kosli.com (no trailing slash needed).
	Host string
	Org  string
}

func (l Links) base() string { return strings.TrimRight(l.Host, "/") + "/" + url.PathEscape(l.Org) }

// Snapshot links a snapshot page.
func (l Links) Snapshot(ref SnapshotRef) string {
	u := l.base() + "/environments/" + url.PathEscape(ref.Environment) + "/snapshots/"
	if ref.Index != "" {
		u += url.PathEscape(ref.Index)
	}
	return u
}

// ArtifactInSnapshot links one artifact within a snapshot page.
func (l Links) ArtifactInSnapshot(ref SnapshotRef, fingerprint string) string {
	return l.Snapshot(ref) + "?fingerprint=" + url.QueryEscape(fingerprint)
}

// artifactLinker links many artifacts of one snapshot, escaping the shared
// part once.
func (l Links) artifactLinker(ref SnapshotRef) func(fingerprint string) string {
	prefix := l.Snapshot(ref) + "?fingerprint="
	return func(fp string) string {
		for i := 0; i < len(fp); i++ {
			if c := fp[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
				return prefix + url.QueryEscape(fp)
			}
		}
		return prefix + fp
	}
}

// Flow links a flow page.
func (l Links) Flow(flow string) string { return l.base() + "/flows/" + url.PathEscape(flow) }

// Trail links a trail page.
func (l Links) Trail(flow, trail string) string {
	return l.Flow(flow) + "/trails/" + url.PathEscape(trail)
}
