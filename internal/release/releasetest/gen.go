// Package releasetest builds inputs for tests and benchmarks of the release domain.
package releasetest

import (
	"fmt"

	"github.com/release-bot/release-bot/internal/release"
)

// GenerateDiff builds a realistic diff of n services, shaped like Kosli's:
// a third changed between the environments, one in twenty new, the rest
// running in both.
func GenerateDiff(n int) *release.Diff { return generate(n, false) }

// GenerateChangedDiff builds a diff of n services that all changed: the
// longest promotion list n services can give.
func GenerateChangedDiff(n int) *release.Diff { return generate(n, true) }

func generate(n int, allChanged bool) *release.Diff {
	d := &release.Diff{
		Source:     release.Side{SnapshotID: "aws-beta#4754", Artifacts: []release.Artifact{}},
		Target:     release.Side{SnapshotID: "aws-prod#3548", Artifacts: []release.Artifact{}},
		Changed:    release.Group{Artifacts: []release.Artifact{}},
		NotChanged: release.Group{Artifacts: []release.Artifact{}},
	}
	for i := 0; i < n; i++ {
		flow := fmt.Sprintf("service-%05d-ci", i)
		a := func(side int) release.Artifact {
			fp := fmt.Sprintf("%064x", i*2+side)
			sha := fmt.Sprintf("%040x", i*2+side)
			return release.Artifact{
				Fingerprint: fp, Flow: flow, InstanceCount: 3, MostRecentTimestamp: release.Timestamp(1740904271 - i),
				Name:      fmt.Sprintf("244531986313.dkr.ecr.eu-central-1.amazonaws.com/service-%05d:%s@sha256:%s", i, sha[:7], fp),
				CommitURL: fmt.Sprintf("https://github.com/cyber-dojo/service-%05d/commit/%s", i, sha),
			}
		}
		switch {
		case allChanged:
			d.Source.Artifacts = append(d.Source.Artifacts, a(1))
			d.Target.Artifacts = append(d.Target.Artifacts, a(0))
		case i%20 == 0:
			d.Source.Artifacts = append(d.Source.Artifacts, a(1))
		case i%3 == 0:
			d.Source.Artifacts = append(d.Source.Artifacts, a(1))
			d.Target.Artifacts = append(d.Target.Artifacts, a(0))
		default:
			d.NotChanged.Artifacts = append(d.NotChanged.Artifacts, a(0))
		}
	}
	return d
}
