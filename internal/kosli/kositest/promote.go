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
	for _, a := range src.artifacts {
		if want[a.Fingerprint] && a.Instances > 0 {
			a.Started = nil
			moving = append(moving, a)
		}
	}
	return s.deploy(targetEnv, moving, want)
}

// Deploy plays a deployment of artifacts the fake has seen before, such as
// a rollback's: the target's next snapshot runs, for each fingerprint, the
// artifact of that fingerprint in the newest snapshot of any environment
// holding it running, in place of the target's artifacts of the same flow.
// It returns the new snapshot's index, or 0 when no fingerprint is found.
func (s *Server) Deploy(targetEnv string, fingerprints []string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := map[string]bool{}
	for _, fp := range fingerprints {
		want[fp] = true
	}
	found := map[string]Artifact{}
	for _, name := range s.envOrder {
		for _, sn := range s.envs[name].snapshots {
			for _, a := range sn.artifacts {
				if want[a.Fingerprint] && a.Instances > 0 {
					a.Started = nil
					found[a.Fingerprint] = a
				}
			}
		}
	}
	var moving []Artifact
	for _, fp := range fingerprints {
		if a, ok := found[fp]; ok {
			moving = append(moving, a)
			delete(found, fp)
		}
	}
	return s.deploy(targetEnv, moving, want)
}

// deploy appends the target's next snapshot with moving in place of the
// target's artifacts of their flows; s.mu must be held.
func (s *Server) deploy(targetEnv string, moving []Artifact, want map[string]bool) int {
	if len(moving) == 0 {
		return 0
	}
	flows := map[string]bool{}
	for _, a := range moving {
		if a.Flow != "" {
			flows[a.Flow] = true
		}
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
