// Package secrettest asserts that credentials stay out of what a test saw:
// errors, captured logs and recorded requests.
package secrettest

import (
	"strings"
	"sync"
	"testing"
)

// Log is a goroutine-safe buffer to hand to zerolog.New in tests.
type Log struct {
	mu  sync.Mutex
	buf strings.Builder
}

// Write implements io.Writer.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything written so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// AssertAbsent fails the test when any of the secrets occurs in any of the texts.
func AssertAbsent(t testing.TB, secrets []string, texts ...string) {
	t.Helper()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for i, text := range texts {
			if strings.Contains(text, s) {
				t.Errorf("secret %.4s… appears in text %d: %.200q", s, i, text)
			}
		}
	}
}

// AssertErrAbsent is AssertAbsent for an error's text (nil passes).
func AssertErrAbsent(t testing.TB, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	AssertAbsent(t, secrets, err.Error(), strings.ReplaceAll(err.Error(), "%", ""))
}
