// Package lazyre is a regular expression compiled the first time it is used,
// not when the program starts. A package-level regexp.MustCompile runs in
// every process that links the package: `bot plan` would pay for the config
// and Slack command patterns it never uses.
package lazyre

import (
	"regexp"
	"sync"
)

// Regexp is a regular expression compiled on first use. Its methods are
// safe for concurrent use. An expression that does not compile panics on
// first use, as regexp.MustCompile does at start-up; tests that use every
// pattern catch it.
type Regexp struct {
	compiled func() *regexp.Regexp
}

// New returns expr, to be compiled when it is first used.
func New(expr string) *Regexp {
	return &Regexp{compiled: sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })}
}

// Regexp is the compiled expression.
func (r *Regexp) Regexp() *regexp.Regexp { return r.compiled() }

// MatchString reports whether s contains a match.
func (r *Regexp) MatchString(s string) bool { return r.compiled().MatchString(s) }

// FindStringSubmatch is regexp.Regexp.FindStringSubmatch.
func (r *Regexp) FindStringSubmatch(s string) []string { return r.compiled().FindStringSubmatch(s) }

// String is the expression's source text.
func (r *Regexp) String() string { return r.compiled().String() }

// FindString is regexp.Regexp.FindString.
func (r *Regexp) FindString(s string) string { return r.compiled().FindString(s) }
