// Command bot is release-bot: a Slack bot that promotes what runs in one
// environment to another, with Kosli as the source of truth and GitHub Actions
// doing the deploying. Subcommands: serve, plan, manifest, config, sandbox, version.
//
// main only wires: it builds the process environment, sets up the signal
// context once and hands over to run, which tests call too.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr}, os.Getenv, time.Now)
	stop()
	os.Exit(code)
}

// stdio is a process's three streams.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // a remote failed or refused
	exitUsage   = 2 // bad flags, a missing file, input that cannot be read
	exitRefused = 42
)

// version is stamped at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

const usage = `release-bot: promote what runs in one environment to another, from Slack.

Usage:
  bot plan      compute the promotions from one environment to another
  bot serve     run the Slack bot (Socket Mode)
  bot manifest  verify a release manifest
  bot config    check a pipelines file (bot config check FILE), with no environment
  bot sandbox   run the whole flow locally against fakes, with a web page
  bot version   print the version

Run "bot <command> --help" for a command's flags.
`

type command func(ctx context.Context, args []string, io stdio, getenv func(string) string, now func() time.Time) int

func subcommands() map[string]command {
	return map[string]command{
		"plan":     runPlan,
		"serve":    runServe,
		"sandbox":  runSandbox,
		"manifest": runManifest,
		"config":   runConfig,
		"version":  runVersion,
	}
}

func run(ctx context.Context, args []string, io stdio, getenv func(string) string, now func() time.Time) int {
	if len(args) == 0 {
		// No command is a mistake (a container started without its
		// arguments), not a request for help.
		_, _ = io.err.Write([]byte(usage))
		return exitUsage
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		_, _ = io.out.Write([]byte(usage))
		return exitOK
	}
	cmd, ok := subcommands()[args[0]]
	if !ok {
		errorf(io.err, "bot: unknown command %q (commands: plan, serve, manifest, config, sandbox, version)", args[0])
		return exitUsage
	}
	return cmd(ctx, args[1:], io, getenv, now)
}

func runVersion(_ context.Context, _ []string, io stdio, _ func(string) string, _ func() time.Time) int {
	_, _ = io.out.Write([]byte("release-bot " + version + "\n"))
	return exitOK
}
