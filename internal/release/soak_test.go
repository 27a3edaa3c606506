package release_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/release"
)

func TestSoaking(t *testing.T) {
	t.Parallel()
	const commit = "https://github.com/o/r/commit/" + shaB
	started := func(ago time.Duration) int64 { return now.Add(-ago).Unix() }
	cases := []struct {
		name    string
		min     time.Duration
		in      []release.Artifact
		want    []release.Soaking
		wantBy  time.Time
		strings []string
	}{
		{"no soak required", 0, []release.Artifact{art("web-ci", commit, "f1", started(time.Minute))}, nil, time.Time{}, nil},
		{"soaked long enough", 2 * time.Hour, []release.Artifact{art("web-ci", commit, "f1", started(3*time.Hour))}, nil, time.Time{}, nil},
		{"exactly the soak: eligible now", 2 * time.Hour, []release.Artifact{art("web-ci", commit, "f1", started(2*time.Hour))}, nil, time.Time{}, nil},
		{"one waits 47m, one has soaked", 2 * time.Hour, []release.Artifact{
			art("web-ci", commit, "f1", started(73*time.Minute)),
			art("saver-ci", commit, "f2", started(5*time.Hour)),
		}, []release.Soaking{{Service: "web", Environment: "beta", Left: 47 * time.Minute, Eligible: now.Add(47 * time.Minute)}},
			now.Add(47 * time.Minute), []string{"web: 47m more in beta"}},
		{"two wait: the release goes when the later has soaked", 2 * time.Hour, []release.Artifact{
			art("web-ci", commit, "f1", started(time.Hour)),
			art("nginx-ci", commit, "f2", started(10*time.Minute)),
		}, []release.Soaking{
			{Service: "web", Environment: "beta", Left: time.Hour, Eligible: now.Add(time.Hour)},
			{Service: "nginx", Environment: "beta", Left: 110 * time.Minute, Eligible: now.Add(110 * time.Minute)},
		}, now.Add(110 * time.Minute), []string{"web: 1h more in beta", "nginx: 1h 50m more in beta"}},
		{"start unknown (most_recent_timestamp 0) blocks, with no time to name", 2 * time.Hour, []release.Artifact{
			art("web-ci", commit, "f1", 0),
			art("nginx-ci", commit, "f2", started(time.Hour)),
		}, []release.Soaking{
			{Service: "web", Environment: "beta"},
			{Service: "nginx", Environment: "beta", Left: time.Hour, Eligible: now.Add(time.Hour)},
		}, time.Time{}, []string{"web: start unknown in beta, cannot tell how long it has run", "nginx: 1h more in beta"}},
		{"seconds left round to the minute", time.Hour, []release.Artifact{art("web-ci", commit, "f1", now.Add(-time.Hour+90*time.Second).Unix())},
			[]release.Soaking{{Service: "web", Environment: "beta", Left: 90 * time.Second, Eligible: now.Add(90 * time.Second)}},
			now.Add(90 * time.Second), []string{"web: 2m more in beta"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := release.Compute(diff(c.in, nil, nil), opts)
			got := p.Soaking(c.min, now)
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("Soaking = %+v, want %+v", got, c.want)
			}
			if by := release.SoakedBy(got); !by.Equal(c.wantBy) {
				t.Errorf("SoakedBy = %v, want %v", by, c.wantBy)
			}
			var strs []string
			for _, s := range got {
				strs = append(strs, s.String())
			}
			if !reflect.DeepEqual(strs, c.strings) {
				t.Errorf("strings = %q, want %q", strs, c.strings)
			}
		})
	}
}
