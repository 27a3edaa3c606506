package kositest

// Promote plays a deployment: the target environment's next snapshot runs
// the source's artifacts with the given fingerprints, each in place of the
// target's artifacts of the same flow, and everything else as before. It
// returns the new snapshot's index, or 0 when the source runs none of them.
func (s *Server) Promote(sourceEnv, targetEnv string, fingerprints []string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	src, ok := s.env(sourceEnv, "").latest()
	if !ok {
		return 0
	}
	want := map[string]bool{}
	for _, fp := range fingerprints {
		want[fp] = true
	}
	var moving []Artifact
	flows := map[string]bool{}
	for _, a := range src.artifacts {
		if want[a.Fingerprint] && a.Instances > 0 {
			a.Started = nil
			moving = append(moving, a)
			if a.Flow != "" {
				flows[a.Flow] = true
			}
		}
	}
	if len(moving) == 0 {
		return 0
	}
	target := s.env(targetEnv, "")
	var next []Artifact
	if last, ok := target.latest(); ok {
		for _, a := range last.artifacts {
			if a.Instances > 0 && !flows[a.Flow] && !want[a.Fingerprint] {
				next = append(next, a)
			}
		}
	}
	next = append(next, moving...)
	index := 1
	if last, ok := target.latest(); ok {
		index = last.index + 1
	}
	s.appendSnapshot(target, index, next)
	return index
}
