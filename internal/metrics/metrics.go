// Package metrics defines release-bot's Prometheus metrics in one place, so
// that every adapter reports under the same names and the tests can read them.
package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
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
	// KosliCalls counts Kosli API calls by endpoint and HTTP status (0 for no answer).
	KosliCalls *prometheus.CounterVec
	// KosliLatency is the time of one Kosli call.
	KosliLatency *prometheus.HistogramVec
	// SocketConnected is 1 while the Socket Mode connection is up.
	SocketConnected prometheus.Gauge
	// SocketConnections is the num_connections Slack reported in its last hello.
	SocketConnections prometheus.Gauge
	// SocketEvents counts connection state changes (connecting, connected, disconnect, …).
	SocketEvents *prometheus.CounterVec
	// Releases counts release state transitions, by the state entered.
	Releases *prometheus.CounterVec
	// EvidencePending is the number of releases whose evidence outbox has
	// items not yet recorded in Kosli.
	EvidencePending prometheus.Gauge
	// EvidenceFailures counts failed deliveries of evidence to Kosli, by
	// kind (report, decision, outcome) and whether it is retried or given up.
	EvidenceFailures *prometheus.CounterVec
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
			Name: "releasebot_kosli_requests_total", Help: "Kosli API requests, by endpoint and HTTP status (0: no answer).",
		}, []string{"endpoint", "status"}),
		KosliLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "releasebot_kosli_request_seconds", Help: "Kosli API request time.", Buckets: prometheus.DefBuckets,
		}, []string{"endpoint"}),
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
	}
	for _, kind := range []string{"report", "decision", "outcome"} {
		for _, result := range []string{"retried", "given_up"} {
			m.EvidenceFailures.WithLabelValues(kind, result) // at zero from the start, for rate()
		}
	}
	reg.MustRegister(m.Envelopes, m.Acks, m.AckLatency, m.Busy, m.Duplicates, m.Commands, m.KosliCalls,
		m.KosliLatency, m.SocketConnected, m.SocketConnections, m.SocketEvents, m.Releases, m.EvidencePending, m.EvidenceFailures,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveKosli has the shape of the Kosli client's Observe hook.
func (m *Metrics) ObserveKosli(endpoint string, status int, d time.Duration) {
	m.KosliCalls.WithLabelValues(endpoint, strconv.Itoa(status)).Inc()
	m.KosliLatency.WithLabelValues(endpoint).Observe(d.Seconds())
}
