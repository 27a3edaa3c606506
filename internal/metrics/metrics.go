// Package metrics defines release-bot's Prometheus metrics in one place, so
// that every adapter reports under the same names and the tests can read them.
package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/slack-go/slack/socketmode"

	"github.com/release-bot/release-bot/internal/release"
)

// Metrics holds every collector the bot exports.
type Metrics struct {
	Registry *prometheus.Registry

	// Envelopes counts Socket Mode envelopes received, by type.
	Envelopes *prometheus.CounterVec
	// Acks counts acks sent, by result (ok, error).
	Acks *prometheus.CounterVec
	// AckLatency is the time from an envelope reaching the loop to its ack being handed to the socket.
	AckLatency prometheus.Histogram
	// Busy counts envelopes turned away because the worker pool was full.
	Busy prometheus.Counter
	// Duplicates counts redelivered envelopes that were not handled again.
	Duplicates prometheus.Counter
	// Commands counts slash commands and clicks by command and outcome.
	Commands *prometheus.CounterVec
	// KosliCalls counts Kosli API requests by endpoint and status class (see StatusClass).
	KosliCalls *prometheus.CounterVec
	// KosliLatency is the time of one Kosli request.
	KosliLatency *prometheus.HistogramVec
	// GitHubCalls counts GitHub API requests by endpoint and status class.
	GitHubCalls *prometheus.CounterVec
	// GitHubLatency is the time of one GitHub request.
	GitHubLatency *prometheus.HistogramVec
	// SlackCalls counts Slack Web API requests (and response_url posts) by
	// method and status class.
	SlackCalls *prometheus.CounterVec
	// SlackLatency is the time of one Slack request.
	SlackLatency *prometheus.HistogramVec
	// SocketConnected is 1 while the Socket Mode connection is up.
	SocketConnected prometheus.Gauge
	// SocketConnections is the num_connections Slack reported in its last hello.
	SocketConnections prometheus.Gauge
	// SocketEvents counts connection state changes (connecting, connected, disconnect, …).
	SocketEvents *prometheus.CounterVec
	// Releases counts release state transitions, by the state entered; the
	// store reports each once (Transition is its OnTransition hook).
	Releases *prometheus.CounterVec
	// EvidencePending is the number of releases whose evidence outbox has
	// items not yet recorded in Kosli.
	EvidencePending prometheus.Gauge
	// EvidenceFailures counts failed deliveries of evidence to Kosli, by
	// kind (report, decision, outcome) and whether it is retried or given up.
	EvidenceFailures *prometheus.CounterVec
	// ReviewsOverdue counts break-glass releases whose review became
	// overdue, by pipeline; each once across replicas.
	ReviewsOverdue *prometheus.CounterVec
}

// New creates the collectors on a fresh registry, with Go and process metrics.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		Envelopes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "releasebot_socket_envelopes_total", Help: "Socket Mode envelopes received, by type.",
		}, []string{"type"}),
		Acks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "releasebot_socket_acks_total", Help: "Socket Mode acks sent, by result.",
		}, []string{"result"}),
		AckLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "releasebot_socket_ack_seconds", Help: "Time from an envelope reaching the loop to its ack being sent.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		Busy: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "releasebot_busy_rejections_total", Help: "Envelopes answered with 'busy, try again' because the worker pool was full.",
		}),
		Duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "releasebot_duplicate_envelopes_total", Help: "Redelivered envelopes that were not handled twice.",
		}),
		Commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "releasebot_commands_total", Help: "Slash commands and button clicks handled, by command and outcome.",
		}, []string{"command", "outcome"}),
		KosliCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "releasebot_kosli_requests_total", Help: "Kosli API requests, by endpoint and status class (2xx, 3xx, 4xx, 5xx; 0: no answer).",
		}, []string{"endpoint", "status"}),
		KosliLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "releasebot_kosli_request_seconds", Help: "Kosli API request time.", Buckets: prometheus.DefBuckets,
		}, []string{"endpoint"}),
		GitHubCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "releasebot_github_requests_total", Help: "GitHub API requests, by endpoint and status class (2xx, 3xx, 4xx, 5xx; 0: no answer).",
		}, []string{"endpoint", "status"}),
		GitHubLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "releasebot_github_request_seconds", Help: "GitHub API request time.", Buckets: prometheus.DefBuckets,
		}, []string{"endpoint"}),
		SlackCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "releasebot_slack_requests_total", Help: "Slack Web API requests and response_url posts, by method and status class (2xx, 3xx, 4xx, 5xx; 0: no answer).",
		}, []string{"method", "status"}),
		SlackLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "releasebot_slack_request_seconds", Help: "Slack request time.", Buckets: prometheus.DefBuckets,
		}, []string{"method"}),
		SocketConnected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "releasebot_socket_connected", Help: "1 while the Socket Mode connection is up.",
		}),
		SocketConnections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "releasebot_socket_connections", Help: "Socket Mode connections of this app, as Slack's last hello reported.",
		}),
		SocketEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "releasebot_socket_state_changes_total", Help: "Socket Mode connection events (connecting, connected, disconnect, …).",
		}, []string{"event"}),
		Releases: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "releasebot_release_transitions_total", Help: "Release state transitions, by the state entered.",
		}, []string{"state"}),
		EvidencePending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "releasebot_evidence_outbox_pending", Help: "Releases whose evidence outbox has items not yet recorded in Kosli.",
		}),
		EvidenceFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "releasebot_evidence_delivery_failures_total", Help: "Failed deliveries of evidence to Kosli, by kind and result (retried, given_up).",
		}, []string{"kind", "result"}),
		ReviewsOverdue: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "releasebot_break_glass_reviews_overdue_total", Help: "Break-glass releases whose review after the fact became overdue, by pipeline.",
		}, []string{"pipeline"}),
	}
	m.zero()
	reg.MustRegister(m.Envelopes, m.Acks, m.AckLatency, m.Busy, m.Duplicates, m.Commands, m.KosliCalls,
		m.KosliLatency, m.GitHubCalls, m.GitHubLatency, m.SlackCalls, m.SlackLatency,
		m.SocketConnected, m.SocketConnections, m.SocketEvents, m.Releases, m.EvidencePending, m.EvidenceFailures, m.ReviewsOverdue,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// zero creates every label combination that can be listed here at zero, so
// that rate() and increase() see the first event after a start: a series
// born at 1 has no earlier sample to rise from. The commands' labels are
// the commands package's to list (commands.New); the requests' endpoints the
// adapters' (Endpoints), and an endpoint first seen gets all its classes.
func (m *Metrics) zero() {
	for _, typ := range []socketmode.EventType{socketmode.EventTypeSlashCommand, socketmode.EventTypeInteractive, socketmode.EventTypeEventsAPI} {
		m.Envelopes.WithLabelValues(string(typ))
	}
	for _, result := range []string{"ok", "error"} {
		m.Acks.WithLabelValues(result)
	}
	for _, evt := range []socketmode.EventType{socketmode.EventTypeConnecting, socketmode.EventTypeConnected,
		socketmode.EventTypeConnectionError, socketmode.EventTypeIncomingError, socketmode.EventTypeErrorBadMessage,
		socketmode.EventTypeDisconnect, socketmode.EventTypeInvalidAuth, socketmode.EventTypeErrorWriteFailed} {
		m.SocketEvents.WithLabelValues(string(evt))
	}
	for _, st := range release.States {
		m.Releases.WithLabelValues(string(st))
	}
	for _, kind := range []release.EvidenceKind{release.EvidenceReport, release.EvidenceDecision, release.EvidenceOutcome} {
		for _, result := range []string{"retried", "given_up"} {
			m.EvidenceFailures.WithLabelValues(string(kind), result)
		}
	}
}

// StatusClass is the status label of a request's HTTP status: its class
// ("2xx" … "5xx"), or "0" when no answer came (a timeout, a refused
// connection). Classes keep the label set small and known in advance.
func StatusClass(status int) string {
	if status < 200 || status > 599 {
		return "0"
	}
	return strconv.Itoa(status/100) + "xx"
}

// Transition has the shape of the store's OnTransition hook.
func (m *Metrics) Transition(to release.State) {
	m.Releases.WithLabelValues(string(to)).Inc()
}

// API names one remote's request metrics.
type API int

// The remotes whose requests are counted.
const (
	Kosli API = iota
	GitHub
	Slack
)

func (m *Metrics) request(api API) (*prometheus.CounterVec, *prometheus.HistogramVec) {
	switch api {
	case GitHub:
		return m.GitHubCalls, m.GitHubLatency
	case Slack:
		return m.SlackCalls, m.SlackLatency
	}
	return m.KosliCalls, m.KosliLatency
}

// Endpoints creates the request series of the endpoints an adapter calls,
// every status class at zero.
func (m *Metrics) Endpoints(api API, endpoints ...string) {
	calls, latency := m.request(api)
	for _, e := range endpoints {
		for _, class := range [...]string{"2xx", "3xx", "4xx", "5xx", "0"} { // StatusClass's values
			calls.WithLabelValues(e, class)
		}
		latency.WithLabelValues(e)
	}
}

// Observer returns a hook with the shape of the adapters' Observe options,
// for one remote: one request to endpoint answered status (0: no answer)
// after d. An endpoint not listed by Endpoints gets its other classes at
// zero with its first request (five map look-ups, next to a request).
func (m *Metrics) Observer(api API) func(endpoint string, status int, d time.Duration) {
	calls, latency := m.request(api)
	return func(endpoint string, status int, d time.Duration) {
		m.Endpoints(api, endpoint)
		calls.WithLabelValues(endpoint, StatusClass(status)).Inc()
		latency.WithLabelValues(endpoint).Observe(d.Seconds())
	}
}

// ObserveKosli has the shape of the Kosli client's Observe hook.
func (m *Metrics) ObserveKosli(endpoint string, status int, d time.Duration) {
	m.Observer(Kosli)(endpoint, status, d)
}
