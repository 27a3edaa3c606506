package main

import (
	"context"
	"fmt"
	"runtime/metrics"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/drift/drifttest"
	"github.com/release-bot/release-bot/internal/github/githubtest"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/secret"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// The latency benchmarks run the bot end to end, as the e2e tests do, with
// the round trips a person's command waits on in production injected at
// the fakes: Kosli's API, GitHub's, and Slack's Web API and response URLs.
// An iteration takes seconds (a release, a minute):
//
//	go test ./cmd/bot -run '^$' -bench Latency -benchtime 1x
const (
	kosliRTT  = 150 * time.Millisecond
	githubRTT = 100 * time.Millisecond
	slackRTT  = 50 * time.Millisecond
)

// sixtyPromotions is the generated pipeline whose diff has 60 promotions
// (a third of the services changed, one in twenty new).
const sixtyPromotions = "gen:161"

// latencyConfig is the ship pipeline with the default working_after (1s)
// and timeouts long enough for 60 artifacts at these latencies.
const latencyConfig = `
pipelines:
  - name: prod
    from: aws-beta
    to: aws-prod
    channel: C0RELEASE01
    approvals: { required: 1, approvers: ["U0CAROL0001"], expire_after: 24h }
    workflow: { repo: acme/deploys, file: promote.yml, ref: main, timeout: 2h }
    verify: { timeout: 2m }
    evidence: { control: release-approved, timeout: 5m }
`

// latencyBot is the ship bot of the e2e tests with network latency on every fake.
type latencyBot struct {
	*bot
	gh *githubtest.Server
}

func startLatencyBot(b *testing.B, fixture, yaml string, opts ...botOption) *latencyBot {
	b.Helper()
	gh := githubtest.Start(b, ghToken, githubtest.Workflow{Repo: "acme/deploys", File: "promote.yml", Duration: 2 * time.Second})
	cfg, err := config.Parse("latency.yaml", []byte(yaml))
	if err != nil {
		b.Fatal(err)
	}
	bt := startBot(b, fixture, append([]botOption{func(o *serveOptions) {
		o.Config = cfg
		o.Env.GitHubToken = secret.New(ghToken)
		o.Env.GitHubAPIURL = gh.URL()
		// The default lease (45s): replies to one thread are paced by Slack's limit.
		o.FollowPoll, o.FindWithin = 500*time.Millisecond, 2*time.Second
	}}, opts...)...)
	gh.OnRunCompleted(func(run githubtest.Run) {
		fps, err := deployedFingerprints(run)
		if err != nil {
			b.Error(err)
			return
		}
		bt.kosli.Promote("aws-beta", "aws-prod", fps)
	})
	bt.kosli.SetLatency(kosliRTT)
	gh.SetLatency(githubRTT)
	bt.slack.SetLatency(slackRTT)
	return &latencyBot{bot: bt, gh: gh}
}

// requests counts what the fakes have received, per route.
type requests struct{ kosli, github map[string]int }

func (l *latencyBot) requests() requests {
	r := requests{kosli: map[string]int{}, github: map[string]int{}}
	for _, q := range l.kosli.Requests() {
		r.kosli[q.Method+" "+string(q.Route)]++
	}
	for _, q := range l.gh.Requests() {
		r.github[q.Method+" "+string(q.Route)]++
	}
	return r
}

// tally is what the fakes received in some span, per route and in all.
type tally struct {
	kosli, github map[string]int
	nk, ng        int
}

// since is what was received after r was taken.
func (l *latencyBot) since(r requests) tally {
	now := l.requests()
	diff := func(a, b map[string]int) (map[string]int, int) {
		out, n := map[string]int{}, 0
		for k, v := range a {
			if d := v - b[k]; d > 0 {
				out[k], n = d, n+d
			}
		}
		return out, n
	}
	var t tally
	t.kosli, t.nk = diff(now.kosli, r.kosli)
	t.github, t.ng = diff(now.github, r.github)
	return t
}

// report gives the counts as metrics, and per route in the log.
func (t tally) report(b *testing.B, what string) {
	b.ReportMetric(float64(t.nk), "kosli-req")
	b.ReportMetric(float64(t.ng), "github-req")
	b.Logf("%s: kosli %s; github %s", what, routes(t.kosli), routes(t.github))
}

func routes(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// timeUntil waits for cond on the fake Slack and says how long after start it held.
func (l *latencyBot) timeUntil(start time.Time, what string, cond func(*slacktest.State) bool) time.Duration {
	l.t.Helper()
	l.waitFor(what, cond)
	return time.Since(start)
}

// pollUntil waits for cond, read every millisecond, and says how long after start it held.
func (l *latencyBot) pollUntil(start time.Time, what string, cond func() bool) time.Duration {
	l.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			l.t.Fatalf("waiting for %s\nlogs:\n%s", what, l.logs.String())
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

func (l *latencyBot) reportAcks(b *testing.B) {
	lat := l.slack.AckLatencies()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ack-ms")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// threadHasWithin waits up to d for a reply under ts containing want.
func (l *latencyBot) threadHasWithin(ts, want string, d time.Duration) {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := l.slack.WaitFor(ctx, func(st *slacktest.State) bool {
		return slices.ContainsFunc(st.Thread(releaseChannel, ts), func(m slacktest.Message) bool { return strings.Contains(m.Text, want) })
	}); err != nil {
		l.t.Fatalf("waiting for a reply containing %q: %v", want, err)
	}
}

// refillPosts waits out the bot's pacing of posts to one channel (a burst
// of 3, then one a second, as Slack allows), so that an iteration's
// answer is not held by the posts of the one before. It is not timed.
func (l *latencyBot) refillPosts(b *testing.B) {
	b.StopTimer()
	time.Sleep(3 * time.Second)
	b.StartTimer()
}

// send types /release TEXT in the release channel and returns when it was sent.
func (l *latencyBot) send(user, text string) time.Time {
	l.t.Helper()
	start := time.Now()
	l.command(user, releaseChannel, text)
	return start
}

// BenchmarkLatencyDiff: /release diff of 60 promotions, to the first answer
// the person sees (the "Working on it…" notice or the diff itself) and to
// the diff posted.
func BenchmarkLatencyDiff(b *testing.B) {
	l := startLatencyBot(b, sixtyPromotions, latencyConfig)
	// A diff this long takes several messages: count them once, untimed.
	l.send(alice, "diff")
	time.Sleep(3 * time.Second)
	parts := len(l.slack.Messages(releaseChannel))
	var first, complete time.Duration
	var t tally
	for b.Loop() {
		l.refillPosts(b)
		before := l.requests()
		posted := len(l.slack.Messages(releaseChannel))
		notices := len(l.slack.Calls("response_url"))
		start := l.send(alice, "diff")
		first += l.timeUntil(start, "a first answer", func(st *slacktest.State) bool {
			return len(st.Messages(releaseChannel)) > posted || len(st.Calls("response_url")) > notices
		})
		complete += l.timeUntil(start, "the whole diff", func(st *slacktest.State) bool {
			return len(st.Messages(releaseChannel)) >= posted+parts
		})
		t = l.since(before)
	}
	n := float64(b.N)
	b.ReportMetric(ms(first)/n, "first-ms")
	b.ReportMetric(ms(complete)/n, "complete-ms")
	t.report(b, fmt.Sprintf("diff (%d messages)", parts))
	l.reportAcks(b)
}

// BenchmarkLatencyPropose: /release propose of 60 artifacts, to the release
// message with its buttons, and on to its evidence recorded in Kosli. Each
// iteration cancels the release, outside the timings.
func BenchmarkLatencyPropose(b *testing.B) {
	l := startLatencyBot(b, sixtyPromotions, latencyConfig)
	var toMessage, toEvidence time.Duration
	var t tally
	for b.Loop() {
		l.refillPosts(b)
		before := l.requests()
		start, msg, took := l.propose()
		toMessage += took
		id := releaseID(msg)
		toEvidence += l.pollUntil(start, "the evidence recorded", func() bool { return l.evidenceRecorded(id, "report") })
		t = l.since(before)

		b.StopTimer()
		l.command(alice, releaseChannel, "cancel "+id+" benchmark done")
		l.threadHas(msg.TS, "cancelled the release")
		l.pollUntil(time.Now(), "the cancel's evidence", func() bool { return l.evidenceRecorded(id, "") })
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(ms(toMessage)/n, "message-ms")
	b.ReportMetric(ms(toEvidence)/n, "evidence-ms")
	t.report(b, "propose (to its evidence recorded)")
	l.reportAcks(b)
}

// propose types /release propose and waits for the new release message
// with its buttons; it returns when the command was sent, the message, and
// how long after it came.
func (l *latencyBot) propose() (time.Time, slacktest.Message, time.Duration) {
	l.t.Helper()
	known := map[string]bool{}
	for _, m := range l.slack.Messages(releaseChannel) {
		known[m.TS] = true
	}
	start := l.send(alice, "propose")
	var msg slacktest.Message
	took := l.timeUntil(start, "the release message", func(st *slacktest.State) bool {
		for _, m := range st.Messages(releaseChannel) {
			if !known[m.TS] && m.ThreadTS == "" && strings.HasPrefix(m.Text, "Release prod-") &&
				strings.Contains(string(m.Blocks), `"release_approve"`) {
				msg = m
				return true
			}
		}
		return false
	})
	return start, msg, took
}

// evidenceRecorded says whether release id's evidence item is recorded
// ("" for every item it has).
func (l *latencyBot) evidenceRecorded(id, item string) bool {
	r, err := l.store().Get(context.Background(), id)
	if err != nil || r.Evidence == nil {
		return false
	}
	if item != "" {
		return r.Evidence.Item(item).Status == release.EvidenceRecorded
	}
	return !r.Evidence.Pending()
}

// BenchmarkLatencyRelease: one whole release of 60 artifacts: propose, the
// approving click (once the proposal's evidence is in Kosli, as it is long
// before a person approves), the dispatch, the run followed to its end, and
// the verification. It times the last click to the dispatch reaching
// GitHub, and counts every request to Kosli and GitHub.
func BenchmarkLatencyRelease(b *testing.B) {
	l := startLatencyBot(b, sixtyPromotions, latencyConfig)
	d := loadFixture(b, sixtyPromotions)
	var toDispatch, toVerified time.Duration
	var t tally
	for i := 0; b.Loop(); i++ {
		l.refillPosts(b)
		b.StopTimer()
		if i > 0 {
			// Each iteration releases the same 60 again: production back as it was.
			d.Source.SnapshotID, d.Target.SnapshotID = fmt.Sprintf("aws-beta#%d", 5000+10*i), fmt.Sprintf("aws-prod#%d", 5000+10*i)
			if err := l.kosli.LoadDiff("aws-beta", "aws-prod", d); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		before := l.requests()
		dispatches := len(l.gh.RequestsTo(githubtest.RouteDispatch))
		_, msg, _ := l.propose()
		id := releaseID(msg)
		l.pollUntil(time.Now(), "the proposal's evidence", func() bool { return l.evidenceRecorded(id, "report") })

		start := time.Now()
		l.click(carol, msg.TS, "release_approve")
		toDispatch += l.pollUntil(start, "the dispatch", func() bool {
			return len(l.gh.RequestsTo(githubtest.RouteDispatch)) > dispatches
		})
		// 60 replies, one a second at most, come before these.
		l.threadHasWithin(msg.TS, "Release succeeded", 3*time.Minute)
		l.threadHasWithin(msg.TS, "Verified in aws-prod#", time.Minute)
		toVerified += time.Since(start)
		l.pollUntil(time.Now(), "the release's evidence", func() bool { return l.evidenceRecorded(id, "") })
		t = l.since(before)
	}
	n := float64(b.N)
	b.ReportMetric(ms(toDispatch)/n, "click-to-dispatch-ms")
	b.ReportMetric(ms(toVerified)/n, "click-to-verified-ms")
	t.report(b, "one release of 60")
	l.reportAcks(b)
}

// BenchmarkLatencyDriftFifty: 50 pipelines of 60 waiting artifacts each,
// their drift reports all due at 09:00. It times the clock reaching 09:00
// to the fiftieth report posted, counts the requests to Kosli, and samples
// the live heap (the bot's and the fakes', which share the process) for
// its peak above what it was before.
func BenchmarkLatencyDriftFifty(b *testing.B) {
	const pipelines = 50
	var yaml strings.Builder
	yaml.WriteString("pipelines:\n")
	for i := range pipelines {
		fmt.Fprintf(&yaml, "  - name: p%02d\n    from: beta-%02d\n    to: prod-%02d\n    channel: %s\n"+
			"    approvals: { required: 1, approvers: [\"U0CAROL0001\"], expire_after: 24h }\n"+
			"    drift_report: { schedule: \"0 9 * * *\", quiet_when_empty: true, stale_after: 72h }\n", i, i, i, driftChannel(i))
	}
	clock := drifttest.NewClock(driftStart)
	l := startLatencyBot(b, "", yaml.String(), func(o *serveOptions) { o.DriftClock = clock })
	for i := range pipelines {
		l.slack.AddChannel(driftChannel(i), fmt.Sprintf("releases-%02d", i))
	}
	d := loadFixture(b, sixtyPromotions)
	for i := range pipelines {
		if err := l.kosli.LoadDiff(fmt.Sprintf("beta-%02d", i), fmt.Sprintf("prod-%02d", i), d); err != nil {
			b.Fatal(err)
		}
	}
	var took time.Duration
	var t tally
	var peak uint64
	day := 0
	for b.Loop() {
		l.schedulers(clock, pipelines)
		before := l.requests()
		base := liveHeap()
		var hi atomic.Uint64
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			for {
				if h := liveHeap(); h > hi.Load() {
					hi.Store(h)
				}
				select {
				case <-stop:
					return
				case <-time.After(2 * time.Millisecond):
				}
			}
		}()
		reports := func(st *slacktest.State) int {
			n := 0
			for i := range pipelines {
				n += len(st.Messages(driftChannel(i)))
			}
			return n
		}
		var posted int
		l.waitFor("", func(st *slacktest.State) bool { posted = reports(st); return true })
		start := time.Now()
		clock.Set(driftStart.Add(time.Hour + time.Duration(day)*24*time.Hour))
		took += l.timeUntil(start, "50 drift reports", func(st *slacktest.State) bool {
			return reports(st) >= posted+pipelines
		})
		close(stop)
		<-sampled
		if m := hi.Load(); m > base {
			peak = max(peak, m-base)
		}
		t = l.since(before)
		day++
	}
	b.ReportMetric(ms(took)/float64(b.N), "last-report-ms")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	t.report(b, "50 drift reports")
	l.reportAcks(b)
}

// driftChannel is pipeline i's channel: each team its own.
func driftChannel(i int) string { return fmt.Sprintf("C0DRIFT%04d", i) }

// liveHeap is the bytes of heap objects the last GC found live, plus those allocated since.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
