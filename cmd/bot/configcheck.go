package main

import (
	"context"
	"fmt"
	"time"

	"github.com/release-bot/release-bot/internal/config"
)

const configHelp = `Usage: bot config check FILE

Reads a pipelines file as bot serve does and prints every problem with its
file, line and field. It needs no environment: no tokens, no connections.
Exit status: 0 the file is valid, 2 it is not (or cannot be read).

Flags:
`

// runConfig dispatches `bot config SUBCOMMAND`; check is the only one.
func runConfig(_ context.Context, args []string, io stdio, _ func(string) string, _ func() time.Time) int {
	if len(args) == 0 || args[0] != "check" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(io.out, configHelp)
			return exitOK
		}
		errorf(io.err, "bot config: say what to do: bot config check FILE")
		return exitUsage
	}
	// FILE is the one argument, so parseFlags, which refuses arguments,
	// reads the flags before it.
	rest := args[1:]
	if len(rest) == 0 || len(rest[len(rest)-1]) > 0 && rest[len(rest)-1][0] == '-' {
		if done, code := parseFlags(newFlags("bot config check"), rest, io, configHelp); done {
			return code
		}
		errorf(io.err, "bot config check: name one pipelines file: bot config check FILE")
		return exitUsage
	}
	path := rest[len(rest)-1]
	if done, code := parseFlags(newFlags("bot config check"), rest[:len(rest)-1], io, configHelp); done {
		return code
	}
	cfg, err := config.Load(path)
	if err != nil {
		// Every problem names the file, its line and the field.
		errorf(io.err, "%v", err)
		return exitUsage
	}
	fmt.Fprintf(io.out, "%s: valid, %d pipeline(s)\n", path, len(cfg.Pipelines))
	return exitOK
}
