package release_test

import (
	"encoding/json"
	"testing"

	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/release/releasetest"
)

// BenchmarkPlan: 5,000 services; the bar is ≤ 2 ms and ≤ 10
// allocations per service per op. Reported as allocs/service too.
func BenchmarkPlan(b *testing.B) {
	const services = 5000
	d := releasetest.GenerateDiff(services)
	o := release.PlanOptions{Links: release.Links{Host: "https://app.kosli.com", Org: "cyber-dojo"}, Now: now}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p := release.Compute(d, o)
		if len(p.Promotions) == 0 {
			b.Fatal("no promotions")
		}
	}
	b.StopTimer()
	allocs := testing.AllocsPerRun(3, func() { release.Compute(d, o) })
	b.ReportMetric(allocs/services, "allocs/service")
}

// BenchmarkPlanMatrix is the whole of `bot plan --output matrix` after reading
// the file: decode, plan, encode.
func BenchmarkPlanMatrix(b *testing.B) {
	data, err := json.Marshal(releasetest.GenerateDiff(5000))
	if err != nil {
		b.Fatal(err)
	}
	o := release.PlanOptions{Links: release.Links{Host: "https://app.kosli.com", Org: "cyber-dojo"}, Now: now}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		d, err := release.ParseDiff(data)
		if err != nil {
			b.Fatal(err)
		}
		p := release.Compute(&d, o)
		_ = release.AppendMatrix(nil, p.Promotions, true)
	}
}

// TestGenerateDiffIsValid keeps the benchmark's input honest: it must decode
// and plan like a real diff.
func TestGenerateDiffIsValid(t *testing.T) {
	data, err := json.Marshal(releasetest.GenerateDiff(100))
	if err != nil {
		t.Fatal(err)
	}
	d, err := release.ParseDiff(data)
	if err != nil {
		t.Fatal(err)
	}
	p := release.Compute(&d, release.PlanOptions{})
	if p.Refused() || len(p.Promotions) != 34+5-2 {
		t.Fatalf("promotions %d refused %v", len(p.Promotions), p.Refusals())
	}
}

// BenchmarkParseDiff is the decoding alone, on the diff BenchmarkPlanMatrix reads.
func BenchmarkParseDiff(b *testing.B) {
	data, err := json.Marshal(releasetest.GenerateDiff(5000))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := release.ParseDiff(data); err != nil {
			b.Fatal(err)
		}
	}
}
