package config

import (
	"cmp"
	"errors"
	"slices"
	"strconv"
	"strings"
)

// Error is one problem in a configuration file. It names the file, the line
// when it is known, the field as a path from the top of the document
// (pipelines[1].approvals.required) and the rule the value broke, so that
// its text alone tells a person what to fix:
//
//	bot.yaml:12: pipelines[1].approvals.required: must be at least 1
//
// Field is empty for problems with the whole file (it is empty, it is not
// YAML). Parse and Load report every problem they find at once, as one
// *Error or as an errors.Join of them.
type Error struct {
	// File is the name given to Parse or the path given to Load.
	File string
	// Line is 1-based; 0 when the problem has no single place (a missing section).
	Line int
	// Field is the path of the offending value, e.g. "pipelines[0].channel".
	Field string
	// Rule says what is wrong, written for the person who edits the file.
	Rule string

	err error // the underlying cause, e.g. a *fs.PathError from Load
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	if e.Field != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Field)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Rule)
	return b.String()
}

// Unwrap returns the cause, so that errors.Is(err, fs.ErrNotExist) works on
// what Load returns.
func (e *Error) Unwrap() error { return e.err }

// problems collects the *Errors of one file in the order they are found.
type problems struct {
	file string
	list []error // each an *Error
}

// add records a problem with the value at field, found at line.
func (p *problems) add(line int, field, rule string) {
	p.list = append(p.list, &Error{File: p.file, Line: line, Field: field, Rule: rule})
}

// err returns nil, the one *Error, or all of them joined in line order.
func (p *problems) err() error {
	slices.SortStableFunc(p.list, func(a, b error) int {
		return cmp.Compare(a.(*Error).Line, b.(*Error).Line)
	})
	switch len(p.list) {
	case 0:
		return nil
	case 1:
		return p.list[0]
	}
	return errors.Join(p.list...)
}

// quote renders a value from the file inside a rule, cut short so that a
// pasted blob cannot flood the message.
func quote(s string) string { return strconv.Quote(clip(s)) }

// clip cuts a text from elsewhere (a value, a library's message) short.
func clip(s string) string {
	const limit = 64
	if r := []rune(s); len(r) > limit {
		s = string(r[:limit]) + "…"
	}
	return s
}
