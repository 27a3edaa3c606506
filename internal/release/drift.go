package release

import "fmt"

// Drift lists what changed, since a manifest was made, in the environments
// it promotes between: an incoming artifact no longer running in the source,
// already running in the target, or a target that no longer runs what the
// artifact replaces. Empty means the manifest still describes the release.
func Drift(m *Manifest, d *Diff) []string {
	source := map[string]bool{}
	target := map[string]bool{}
	targetFlows := map[string]bool{}
	for _, a := range d.Source.Artifacts {
		source[a.Fingerprint] = true
	}
	for _, a := range d.Target.Artifacts {
		target[a.Fingerprint] = true
		targetFlows[a.Flow] = true
	}
	for _, g := range [][]Artifact{d.Changed.Artifacts, d.NotChanged.Artifacts} {
		for _, a := range g {
			source[a.Fingerprint] = true
			target[a.Fingerprint] = true
			targetFlows[a.Flow] = true
		}
	}
	var drift []string
	for _, a := range m.Artifacts {
		fp := a.Digest[len("sha256:"):]
		switch {
		case target[fp]:
			drift = append(drift, fmt.Sprintf("%s: %s already runs in %s", a.Service, shortFP(fp), m.Target.Environment))
		case !source[fp]:
			drift = append(drift, fmt.Sprintf("%s: %s no longer runs in %s", a.Service, shortFP(fp), m.Source.Environment))
		case a.Replaces != nil && !target[a.Replaces.Digest[len("sha256:"):]]:
			drift = append(drift, fmt.Sprintf("%s: %s no longer runs %s, the version this release replaces", a.Service, m.Target.Environment, shortFP(a.Replaces.Digest[len("sha256:"):])))
		case a.Replaces == nil && targetFlows[a.Flow]:
			drift = append(drift, fmt.Sprintf("%s: a version of this new service now runs in %s", a.Service, m.Target.Environment))
		}
	}
	return drift
}
