package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// newFlags is a FlagSet that reports its own errors as one clear line
// instead of printing the whole usage on every mistake.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args; it returns (true, exitOK) after printing help,
// (true, exitUsage) after printing one line on a bad flag.
func parseFlags(fs *flag.FlagSet, args []string, io stdio, help string) (done bool, code int) {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(io.out, help)
		fs.SetOutput(io.out)
		fs.PrintDefaults()
		return true, exitOK
	}
	if err != nil {
		errorf(io.err, "%s: %s (see %s --help)", fs.Name(), strings.TrimSpace(err.Error()), fs.Name())
		return true, exitUsage
	}
	if fs.NArg() > 0 {
		errorf(io.err, "%s: unexpected argument %q (see %s --help)", fs.Name(), fs.Arg(0), fs.Name())
		return true, exitUsage
	}
	return false, exitOK
}

func errorf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, format+"\n", args...)
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }

func (m *multiFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*m = append(*m, s)
		}
	}
	return nil
}
