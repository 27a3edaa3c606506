// Package remote is what the adapters to remote services (Kosli, GitHub)
// share about a call: whether a failed one timed out, whether it was sent at
// all, its cause without the URL, a message cut to one line; the error
// types each adapter's own embed (APIError, UnreachableError); and the
// report of each attempt to the metrics and the log (Recorder).
package remote

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"unicode/utf8"
)

// NotSent reports whether err happened while connecting, before a byte of
// the request was written: such a request is safe to send again.
func NotSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// TimedOut reports whether err is a deadline or a network timeout.
func TimedOut(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// Cause is err's text, without the method and URL a *url.Error repeats.
func Cause(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

// MaxMessage bounds a message kept from an answer, in bytes.
const MaxMessage = 300

// OneLine folds every run of white space in s into one space.
func OneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Clip cuts s to MaxMessage bytes at a character boundary, marking the cut.
func Clip(s string) string { return ClipTo(s, MaxMessage) }

// ClipTo cuts s to n bytes at a character boundary, marking the cut.
func ClipTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
