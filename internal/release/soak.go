package release

import (
	"time"
)

// Soaking is one incoming artifact that has not yet run long enough in the
// source environment to be promoted (a pipeline's gate.min_soak).
type Soaking struct {
	Service     string `json:"service"`
	Environment string `json:"environment"`
	// Left is how much longer it must run; Eligible is when it may go. Both
	// are zero when Kosli does not say when it started (most_recent_timestamp
	// 0 or null): an artifact of unknown age has not proven it soaked.
	Left     time.Duration `json:"left_ns"`
	Eligible time.Time     `json:"eligible"`
}

// Unknown reports whether the artifact's start in the source is not known.
func (s Soaking) Unknown() bool { return s.Eligible.IsZero() }

// String is the artifact's wait as people read it: "web: 47m more in aws-beta".
func (s Soaking) String() string {
	if s.Unknown() {
		return s.Service + ": start unknown in " + s.Environment + ", cannot tell how long it has run"
	}
	return s.Service + ": " + HumanDuration(s.Left.Round(time.Minute)) + " more in " + s.Environment
}

// Soaking lists, in the plan's order, the promotions whose incoming artifact
// has run in the source environment for less than min at now: each blocks
// the release until it has. min <= 0 means no soak is required.
func (p *Plan) Soaking(min time.Duration, now time.Time) []Soaking {
	if min <= 0 {
		return nil
	}
	var out []Soaking
	for _, pr := range p.Promotions {
		s := Soaking{Service: pr.Service, Environment: p.Source.Environment}
		if since := pr.Incoming.Since; !since.IsZero() {
			s.Eligible = since.Add(min)
			if !now.Before(s.Eligible) {
				continue
			}
			s.Left = s.Eligible.Sub(now)
		}
		out = append(out, s)
	}
	return out
}

// SoakedBy is when every soaking artifact may go: the latest Eligible, or
// the zero time when any start is unknown (or nothing soaks).
func SoakedBy(s []Soaking) time.Time {
	var last time.Time
	for _, x := range s {
		if x.Unknown() {
			return time.Time{}
		}
		if x.Eligible.After(last) {
			last = x.Eligible
		}
	}
	return last
}
