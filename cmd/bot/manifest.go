package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/schema"
)

const manifestHelp = `Usage: bot manifest verify FILE

Checks a release manifest (FILE, or - for stdin): that it follows
schema/release-manifest.schema.json and that its content still hashes to the
digest sealed in it, i.e. that nobody changed it after it was proposed.
Exit status: 0 it is good, 1 it breaks the schema or its digest, 2 bad usage
or a file that cannot be read as JSON.
`

func runManifest(_ context.Context, args []string, io stdio, _ func(string) string, _ func() time.Time) int {
	if len(args) == 0 {
		errorf(io.err, "bot manifest: say what to do: bot manifest verify FILE (see bot manifest --help)")
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(io.out, manifestHelp)
		return exitOK
	case "verify":
	default:
		errorf(io.err, "bot manifest: unknown subcommand %q (subcommands: verify)", args[0])
		return exitUsage
	}
	// verify takes no flags, only FILE; "-" is stdin, not a flag.
	rest := args[1:]
	flagsEnd := 0
	for flagsEnd < len(rest) && strings.HasPrefix(rest[flagsEnd], "-") && rest[flagsEnd] != "-" {
		flagsEnd++
	}
	if done, code := parseFlags(newFlags("bot manifest verify"), rest[:flagsEnd], io, manifestHelp); done {
		return code
	}
	files := rest[flagsEnd:]
	switch {
	case len(files) == 0:
		errorf(io.err, "bot manifest verify: which manifest? bot manifest verify FILE (- for stdin)")
		return exitUsage
	case len(files) > 1:
		errorf(io.err, "bot manifest verify: unexpected argument %q: verify one FILE at a time", files[1])
		return exitUsage
	}
	name := files[0]
	data, err := readInput(name, io.in)
	if err != nil {
		errorf(io.err, "bot manifest verify: %v", err)
		return exitUsage
	}
	if name == "-" {
		name = "stdin"
	}
	m, err := release.VerifyManifest(data)
	var (
		invalid  *schema.ValidationError
		mismatch *release.DigestMismatchError
	)
	switch {
	case errors.As(err, &invalid):
		var b strings.Builder
		fmt.Fprintf(&b, "bot manifest verify: %s: FAILED: does not follow the release manifest schema (%s):\n", name, plural(len(invalid.Problems), "problem"))
		for _, p := range invalid.Problems {
			fmt.Fprintf(&b, "  %s\n", p)
		}
		_, _ = io.err.Write([]byte(b.String()))
		return exitFailure
	case errors.As(err, &mismatch):
		errorf(io.err, "bot manifest verify: %s: FAILED: %v: it was changed after it was sealed", name, mismatch)
		return exitFailure
	case err != nil:
		errorf(io.err, "bot manifest verify: %s: %v", name, err)
		return exitUsage
	}
	fmt.Fprintf(io.out, "OK %s %s (%s)\n", m.ReleaseID, m.SealedDigest, plural(len(m.Artifacts), "artifact"))
	return exitOK
}

// readInput reads FILE, or stdin for "-", saying plainly what went wrong.
func readInput(name string, stdin io.Reader) ([]byte, error) {
	if name == "-" {
		data, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("reading stdin: %v", err)
		}
		return data, nil
	}
	data, err := os.ReadFile(name)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("%s: no such file", name)
	case err != nil:
		return nil, fmt.Errorf("%s: %v", name, errors.Unwrap(err))
	}
	return data, nil
}

// plural writes "1 artifact", "4 artifacts".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
