// Command chartcheck decodes the output of `helm template` strictly against
// the Kubernetes API types and checks what the release-bot chart promises:
// a restrictive securityContext on every container, probes, the config
// checksum, a PodDisruptionBudget with more than one replica, no Secret
// data with existingSecret. scripts/check-chart.sh runs it.
//
//	helm template rb deploy/helm/release-bot … | chartcheck [-existing-secret NAME] [-pipelines-out FILE] [FILE…]
//
// It lives in its own module so that release-bot's module does not carry
// the Kubernetes API's dependencies.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chartcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts Options
	fs.StringVar(&opts.ExistingSecret, "existing-secret", "", "the values' existingSecret: the chart must render no Secret and refer to this one only")
	pipelinesOut := fs.String("pipelines-out", "", "write the rendered pipelines file here, for the bot to check")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var readers []io.Reader
	for _, name := range fs.Args() {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(stderr, "chartcheck: %v\n", err)
			return 2
		}
		defer f.Close()
		readers = append(readers, f, strings.NewReader("\n---\n"))
	}
	if len(readers) == 0 {
		readers = append(readers, stdin)
	}
	o, err := Decode(io.MultiReader(readers...))
	if err == nil {
		err = Check(o, opts)
	}
	if err != nil {
		for _, e := range flatten(err) {
			fmt.Fprintf(stderr, "chartcheck: %v\n", e)
		}
		return 1
	}
	if *pipelinesOut != "" {
		if err := os.WriteFile(*pipelinesOut, []byte(Pipelines(o)), 0o644); err != nil {
			fmt.Fprintf(stderr, "chartcheck: %v\n", err)
			return 2
		}
	}
	fmt.Fprintf(stdout, "chartcheck: ok, %d objects: %s\n", len(o.Names), strings.Join(o.Names, ", "))
	return 0
}

// flatten lists the errors inside errors.Join, one per line.
func flatten(err error) []error {
	var j interface{ Unwrap() []error }
	if errors.As(err, &j) {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
