package github

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// GitHub cuts a job's display name to maxJobName characters: the first
// maxJobName-3 and "...".
const maxJobName = 100

// Unmatched is a job MatchLegs could not give a service, and why.
type Unmatched struct {
	Job    Job
	Reason string
}

// MatchLegs maps a run's jobs to the release's services by the service name
// in each job's name: "deploy (saver)", "Prod apply saver", or
// "promote / deploy (saver)" from a reusable workflow. A service matches
// only as a whole token, bounded by the start or end of the name, a space,
// a parenthesis, a bracket or a comma (a colon may follow it), so that
// "web" does not match "deploy (web-socket)" nor the image path
// ".../saver:tag"; a service shown only inside a longer one's name
// ("start points" in "custom start points") gives way to the longer.
//
// A name GitHub cut at 100 characters (97 and "...") still matches when the
// service survives the cut whole and bounded; a service the cut touches
// does not, since what followed it is unknown.
//
// Nothing is guessed: a job that names no service, two services apart, or
// a service another job names too, is returned in unmatched, in the jobs'
// order, and no service maps to it. Setup jobs of the workflow end up there.
func MatchLegs(jobs []Job, services []string) (legs map[string]Job, unmatched []Unmatched) {
	type claim struct {
		index int
		job   Job
	}
	claims := map[string][]claim{}
	type miss struct {
		index int
		Unmatched
	}
	var misses []miss
	for i, j := range jobs {
		named := servicesNamed(j.Name, services)
		switch {
		case len(named) == 0:
			misses = append(misses, miss{i, Unmatched{j, "its name shows none of the release's services"}})
		case len(named) > 1:
			misses = append(misses, miss{i, Unmatched{j, "its name shows several services: " + strings.Join(named, ", ")}})
		default:
			claims[named[0]] = append(claims[named[0]], claim{i, j})
		}
	}
	legs = map[string]Job{}
	for service, cs := range claims {
		if len(cs) == 1 {
			legs[service] = cs[0].job
			continue
		}
		for _, c := range cs {
			misses = append(misses, miss{c.index, Unmatched{c.job, fmt.Sprintf("%d jobs show service %s", len(cs), service)}})
		}
	}
	sort.Slice(misses, func(a, b int) bool { return misses[a].index < misses[b].index })
	for _, m := range misses {
		unmatched = append(unmatched, m.Unmatched)
	}
	return legs, unmatched
}

// servicesNamed returns the services name shows as whole tokens, less
// those shown only inside a longer one's token ("start points" inside
// "custom start points"): one, several, or none.
func servicesNamed(name string, services []string) []string {
	text, cut := name, false
	if utf8.RuneCountInString(name) == maxJobName && strings.HasSuffix(name, "...") {
		text, cut = name[:len(name)-len("...")], true
	}
	type span struct{ start, end int }
	shown := map[string][]span{}
	for _, s := range services {
		if s == "" || shown[s] != nil {
			continue
		}
		occurs(text, s, func(start, end int) bool {
			before := start == 0 || strings.IndexByte(" \t([,", text[start-1]) >= 0
			after := (end == len(text) && !cut) || (end < len(text) && strings.IndexByte(" \t)],:", text[end]) >= 0)
			if before && after {
				shown[s] = append(shown[s], span{start, end})
			}
			return false // every occurrence
		})
	}
	var named []string
	for s, spans := range shown {
		inside := func(sp span) bool {
			for t, others := range shown {
				for _, o := range others {
					if len(t) > len(s) && o.start <= sp.start && sp.end <= o.end {
						return true
					}
				}
			}
			return false
		}
		if !slices.ContainsFunc(spans, func(sp span) bool { return !inside(sp) }) {
			continue
		}
		named = append(named, s)
	}
	sort.Strings(named)
	return named
}

// occurs reports whether tok occurs in s somewhere bounded(start, end)
// holds, calling bounded for each occurrence in turn until one does.
func occurs(s, tok string, bounded func(start, end int) bool) bool {
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], tok)
		if j < 0 {
			return false
		}
		if bounded(i+j, i+j+len(tok)) {
			return true
		}
		i += j + 1
	}
	return false
}
