// Package slackbot is release-bot's Socket Mode loop: envelopes in, acks out
// at once, work handed to a bounded pool of workers. It knows nothing of
// releases; a Handler does the work.
package slackbot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/release-bot/release-bot/internal/metrics"
)

// Handler does the work of one envelope, on a worker goroutine. Its context
// outlives a shutdown signal by the drain time, so work in flight can finish.
type Handler interface {
	Command(ctx context.Context, cmd slack.SlashCommand)
	Interaction(ctx context.Context, cb slack.InteractionCallback)
}

// EventHandler is a Handler that also takes Events API events (such as
// app_home_opened); without it they are acked and dropped.
type EventHandler interface {
	Event(ctx context.Context, evt slackevents.EventsAPIEvent)
}

// ViewAcker is a Handler that answers some view submissions in their ack,
// e.g. with response_action "errors" to keep a dialog open; nil means a
// plain ack. It runs before the ack, so it must not call a remote.
type ViewAcker interface {
	ViewAck(cb slack.InteractionCallback) *slack.ViewSubmissionResponse
}

// Deduper remembers keys across replicas; Once reports whether key is new.
type Deduper interface {
	Once(ctx context.Context, key string, ttl time.Duration) (bool, error)
}

// Responder answers a person through a response_url when the bot cannot
// take their request (the pool is full).
type Responder interface {
	Busy(ctx context.Context, responseURL, userID, channelID string)
}

// Options configures a Loop.
type Options struct {
	// Socket is slack-go's Socket Mode client; the Loop runs it and reads its events.
	Socket  *socketmode.Client
	Handler Handler
	Dedup   Deduper
	Busy    Responder
	// Workers bounds the work done at once (default 8); Queue bounds what waits (default 64).
	Workers, Queue int
	// AckTimeout bounds one ack (default 2s): acks must reach Slack within 3s.
	AckTimeout time.Duration
	// Drain is how long work in flight may go on after shutdown begins (default 25s).
	Drain time.Duration
	// DedupTTL is how long a delivered envelope is remembered (default 1h).
	DedupTTL time.Duration
	Logger   zerolog.Logger
	Metrics  *metrics.Metrics
}

// Loop runs the Socket Mode connection and the worker pool.
type Loop struct {
	opts      Options
	connected atomic.Bool
	busySem   chan struct{}
}

// New checks opts and applies defaults.
func New(opts Options) (*Loop, error) {
	if opts.Socket == nil || opts.Handler == nil {
		return nil, errors.New("slackbot: a socket and a handler are required")
	}
	if opts.Workers <= 0 {
		opts.Workers = 8
	}
	if opts.Queue <= 0 {
		opts.Queue = 64
	}
	if opts.AckTimeout <= 0 {
		opts.AckTimeout = 2 * time.Second
	}
	if opts.Drain <= 0 {
		opts.Drain = 25 * time.Second
	}
	if opts.DedupTTL <= 0 {
		opts.DedupTTL = time.Hour
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.New()
	}
	return &Loop{opts: opts, busySem: make(chan struct{}, 4)}, nil
}

// Connected reports whether the socket is up, for readiness.
func (l *Loop) Connected() bool { return l.connected.Load() }

// job is one acked envelope waiting for a worker.
type job struct {
	kind     socketmode.EventType
	command  slack.SlashCommand
	callback slack.InteractionCallback
	event    slackevents.EventsAPIEvent
	received time.Time
}

// Run connects and serves until ctx ends or Slack refuses the app's token.
// On ctx's end it stops reading, lets queued and running work finish within
// the drain time, and returns nil.
func (l *Loop) Run(ctx context.Context) error {
	log := l.opts.Logger
	sockCtx, stopSocket := context.WithCancel(ctx)
	defer stopSocket()
	// Work is not cancelled by the shutdown signal itself, only when the drain time is up.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()

	jobs := make(chan job, l.opts.Queue)
	var workers sync.WaitGroup
	for range l.opts.Workers {
		workers.Go(func() {
			for j := range jobs {
				l.work(workCtx, j)
			}
		})
	}

	sockErr := make(chan error, 1)
	go func() { sockErr <- l.opts.Socket.RunContext(sockCtx) }()

	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-sockErr:
			if ctx.Err() == nil {
				runErr = fmt.Errorf("slack socket mode: %w", err)
				withSuspect(log.Error().Err(err), err).Msg("socket mode stopped")
			}
			sockErr = nil
			break loop
		case evt := <-l.opts.Socket.Events:
			l.dispatch(ctx, evt, jobs)
		}
	}

	l.connected.Store(false)
	l.opts.Metrics.SocketConnected.Set(0)
	stopSocket()
	close(jobs)
	drained := make(chan struct{})
	go func() { workers.Wait(); close(drained) }()
	timer := time.NewTimer(l.opts.Drain)
	defer timer.Stop()
	select {
	case <-drained:
		log.Info().Msg("work in flight finished")
	case <-timer.C:
		log.Warn().Dur("drain", l.opts.Drain).Msg("drain time is up: cancelling work in flight")
		stopWork()
		<-drained
	}
	return runErr
}

// dispatch is the loop's only work per event: never a call to a remote, so
// that PINGs keep being answered; the ack is a hand-off to the socket's writer.
func (l *Loop) dispatch(ctx context.Context, evt socketmode.Event, jobs chan<- job) {
	m, log := l.opts.Metrics, l.opts.Logger
	switch evt.Type {
	case socketmode.EventTypeConnectionError:
		l.connected.Store(false)
		m.SocketConnected.Set(0)
		m.SocketEvents.WithLabelValues(string(evt.Type)).Inc()
		l.connectionError(evt)
		return
	case socketmode.EventTypeIncomingError:
		m.SocketEvents.WithLabelValues(string(evt.Type)).Inc()
		var cause error
		if ie, ok := evt.Data.(*slack.IncomingEventError); ok {
			cause = ie.ErrorObj
		}
		if unreadableFrame(cause) {
			// slack-go skips a frame that is not JSON and keeps the
			// connection, so readiness stays; it does not give us the
			// frame, so there is no envelope_id to ack.
			log.Warn().Str("event", string(evt.Type)).Str("cause", frameCause(cause, "")).Msg("unreadable socket mode frame ignored")
			return
		}
		// Any other read error ends the connection; slack-go reconnects.
		l.connected.Store(false)
		m.SocketConnected.Set(0)
		log.Warn().Str("event", string(evt.Type)).Err(cause).Msg("socket mode connection lost")
		return
	case socketmode.EventTypeConnecting, socketmode.EventTypeDisconnect, socketmode.EventTypeErrorWriteFailed,
		socketmode.EventTypeInvalidAuth:
		l.connected.Store(false)
		m.SocketConnected.Set(0)
		m.SocketEvents.WithLabelValues(string(evt.Type)).Inc()
		ev := log.Info()
		if evt.Type == socketmode.EventTypeInvalidAuth || evt.Type == socketmode.EventTypeErrorWriteFailed {
			ev = log.Error()
		}
		ev.Str("event", string(evt.Type)).Msg("socket mode connection")
		return
	case socketmode.EventTypeConnected:
		l.connected.Store(true)
		m.SocketConnected.Set(1)
		m.SocketEvents.WithLabelValues(string(evt.Type)).Inc()
		log.Info().Msg("socket mode connected")
		return
	case socketmode.EventTypeHello:
		l.connected.Store(true)
		m.SocketConnected.Set(1)
		if evt.Request != nil {
			m.SocketConnections.Set(float64(evt.Request.NumConnections))
		}
		return
	case socketmode.EventTypeErrorBadMessage:
		m.SocketEvents.WithLabelValues(string(evt.Type)).Inc()
		l.badMessage(ctx, evt)
		return
	}
	if evt.Request == nil || evt.Request.EnvelopeID == "" {
		return
	}
	received := time.Now()
	m.Envelopes.WithLabelValues(string(evt.Type)).Inc()
	l.ack(ctx, evt.Request.EnvelopeID, received, l.viewAck(evt))

	j := job{kind: evt.Type, received: received}
	switch data := evt.Data.(type) {
	case slack.SlashCommand:
		j.command = data
	case slack.InteractionCallback:
		j.callback = data
	case slackevents.EventsAPIEvent:
		if _, ok := l.opts.Handler.(EventHandler); !ok {
			return
		}
		j.event = data
	default:
		return // others: acked, nothing to do
	}
	select {
	case jobs <- j:
	default:
		m.Busy.Inc()
		l.busy(j)
	}
}

// ack acknowledges an envelope within the ack timeout. It is a hand-off to
// the socket's writer, never a call to a remote.
func (l *Loop) ack(ctx context.Context, envelopeID string, received time.Time, payload any) {
	m := l.opts.Metrics
	ackCtx, cancel := context.WithTimeout(ctx, l.opts.AckTimeout)
	err := l.opts.Socket.AckCtx(ackCtx, envelopeID, payload)
	cancel()
	m.AckLatency.Observe(time.Since(received).Seconds())
	if err != nil {
		m.Acks.WithLabelValues("error").Inc()
		l.opts.Logger.Error().Err(err).Str("envelope_id", envelopeID).Msg("ack failed")
		return
	}
	m.Acks.WithLabelValues("ok").Inc()
}

// viewAck is what a view submission's ack carries: the handler's answer,
// or nil (a plain ack) for anything else.
func (l *Loop) viewAck(evt socketmode.Event) any {
	cb, ok := evt.Data.(slack.InteractionCallback)
	va, can := l.opts.Handler.(ViewAcker)
	if !ok || !can || cb.Type != slack.InteractionTypeViewSubmission {
		return nil
	}
	if r := va.ViewAck(cb); r != nil {
		return r // a nil *ViewSubmissionResponse in an any would not be nil
	}
	return nil
}

// badMessage acks a frame slack-go could not decode (a payload it cannot
// read, a type it does not know) when it names an envelope, so that Slack
// does not deliver it again, and logs a summary of it: never the payload,
// which holds a response_url.
func (l *Loop) badMessage(ctx context.Context, evt socketmode.Event) {
	bad, ok := evt.Data.(*socketmode.ErrorBadMessage)
	if !ok || bad == nil {
		return
	}
	received := time.Now()
	head := peekEnvelope(bad.Message)
	if head.id != "" {
		l.ack(ctx, head.id, received, nil)
	}
	l.opts.Logger.Warn().Str("event", string(evt.Type)).Str("type", head.typ).Str("envelope_id", head.id).
		Int("length", len(bad.Message)).Str("cause", frameCause(bad.Cause, head.typ)).Bool("acked", head.id != "").
		Msg("undecodable socket mode envelope")
}

// connectionError logs why slack-go could not connect and which setting is
// likely wrong. slack-go itself waits the logged backoff before trying
// again, doubling it up to five minutes.
func (l *Loop) connectionError(evt socketmode.Event) {
	ev := l.opts.Logger.Warn().Str("event", string(evt.Type))
	if ce, ok := evt.Data.(*slack.ConnectionErrorEvent); ok && ce != nil {
		ev = ev.Err(ce.ErrorObj).Int("attempt", ce.Attempt).Dur("backoff", ce.Backoff)
		ev = withSuspect(ev, ce.ErrorObj)
	}
	ev.Msg("socket mode cannot connect: retrying after the backoff")
}

// busy tells the person to try again, on a goroutine of a small bounded set
// so that a flood cannot block the loop or grow without bound.
func (l *Loop) busy(j job) {
	responseURL, user, channel := j.command.ResponseURL, j.command.UserID, j.command.ChannelID
	if j.kind == socketmode.EventTypeInteractive {
		responseURL, user, channel = j.callback.ResponseURL, j.callback.User.ID, j.callback.Channel.ID
	}
	l.opts.Logger.Warn().Str("user", user).Str("channel", channel).Msg("worker pool full: asked the person to try again")
	if l.opts.Busy == nil || responseURL == "" {
		return
	}
	select {
	case l.busySem <- struct{}{}:
		go func() {
			defer func() { <-l.busySem }()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			l.opts.Busy.Busy(ctx, responseURL, user, channel)
		}()
	default:
	}
}

// work runs one job: drop a redelivery, then hand it to the Handler, never
// letting a panic take the process down.
func (l *Loop) work(ctx context.Context, j job) {
	log := l.opts.Logger
	defer func() {
		if r := recover(); r != nil {
			log.Error().Interface("panic", r).Str("stack", string(debug.Stack())).Str("kind", string(j.kind)).Msg("handler panicked")
		}
	}()
	if key := dedupKey(j); key != "" && l.opts.Dedup != nil {
		first, err := l.opts.Dedup.Once(ctx, key, l.opts.DedupTTL)
		if err != nil {
			// Answering twice is better than never answering.
			log.Warn().Err(err).Msg("dedup unavailable: handling the envelope anyway")
		} else if !first {
			l.opts.Metrics.Duplicates.Inc()
			log.Info().Str("key", key).Msg("duplicate delivery ignored")
			return
		}
	}
	switch j.kind {
	case socketmode.EventTypeSlashCommand:
		l.opts.Handler.Command(ctx, j.command)
	case socketmode.EventTypeInteractive:
		l.opts.Handler.Interaction(ctx, j.callback)
	case socketmode.EventTypeEventsAPI:
		if eh, ok := l.opts.Handler.(EventHandler); ok {
			eh.Event(ctx, j.event)
		}
	}
}

// dedupKey names a delivery: a command by its trigger_id, a click by the
// message (or Home view), action, user and the click's own timestamp, an
// event by its event_id.
func dedupKey(j job) string {
	switch j.kind {
	case socketmode.EventTypeSlashCommand:
		if j.command.TriggerID != "" {
			return "cmd:" + j.command.TriggerID
		}
	case socketmode.EventTypeInteractive:
		cb := j.callback
		if len(cb.ActionCallback.BlockActions) > 0 {
			a := cb.ActionCallback.BlockActions[0]
			where := cb.Container.MessageTs
			if where == "" {
				where = cb.Container.ViewID // a click on the Home tab
			}
			return "click:" + where + ":" + a.ActionID + ":" + cb.User.ID + ":" + a.ActionTs
		}
		if cb.Type == slack.InteractionTypeViewSubmission && cb.View.ID != "" {
			// What was typed is part of the key: a redelivery carries the
			// same values, while a second submission after an answer of
			// response_action errors (a blank reason) carries new ones on
			// the same view and hash, and must not be dropped as a repeat.
			state, _ := json.Marshal(cb.View.State)
			sum := sha256.Sum256(state)
			return "view:" + cb.View.ID + ":" + cb.View.Hash + ":" + hex.EncodeToString(sum[:8])
		}
	case socketmode.EventTypeEventsAPI:
		// Slack retries an event under its event_id.
		if cb, ok := j.event.Data.(*slackevents.EventsAPICallbackEvent); ok && cb.EventID != "" {
			return "event:" + cb.EventID
		}
	}
	return ""
}
