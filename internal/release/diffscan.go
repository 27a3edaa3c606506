package release

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// The diff decoder. A 5,000-service diff is about 4 MB, and `bot plan` must
// read it in a few milliseconds to beat the script it replaces, which
// encoding/json cannot do: it validates the input in a first pass, reflects on
// every field and copies every string. This scanner reads the one document
// shape in a single pass, slices strings out of one copy of the input, and
// agrees with encoding/json on what is valid and what each field holds (a
// differential fuzz test keeps it so): unknown keys skipped, keys matched
// case-insensitively, null leaving a field empty, invalid UTF-8 replaced.

const maxDepth = 10000 // encoding/json's nesting limit

// mismatch records the first type error and skips the value, as encoding/json
// does: a wrong type is reported after the rest of the document was checked.
func (s *diffScanner) mismatch(first *error, depth int, field, want string) error {
	if *first == nil {
		*first = &typeError{field: field, want: want, got: s.kind()}
	}
	return s.skip(depth)
}

// stringInto decodes a string or null into *dst.
func (s *diffScanner) stringInto(dst *string, first *error, depth int, field string) error {
	switch s.peek() {
	case '"':
		v, err := s.str()
		*dst = v
		return err
	case 'n':
		return s.literal("null")
	}
	return s.mismatch(first, depth, field, "string")
}

// matchKey maps a key to one of names: exactly, else case-insensitively
// (encoding/json's rule); -1 when none.
func matchKey(key string, names ...string) int {
	for i, n := range names {
		if key == n {
			return i
		}
	}
	for i, n := range names {
		if strings.EqualFold(key, n) {
			return i
		}
	}
	return -1
}

func (s *diffScanner) artifact(a *Artifact, first *error, depth int) error {
	return s.object(depth, func(key string) error {
		switch matchKey(key, "fingerprint", "name", "most_recent_timestamp", "flow", "commit_url", "instance_count") {
		case 0:
			return s.stringInto(&a.Fingerprint, first, depth, "Artifact.fingerprint")
		case 1:
			return s.stringInto(&a.Name, first, depth, "Artifact.name")
		case 2:
			if isNull, err := s.null(); isNull || err != nil {
				if err == nil {
					a.MostRecentTimestamp = 0
				}
				return err
			}
			if c := s.peek(); c != '-' && (c < '0' || c > '9') {
				if *first == nil {
					*first = errors.New("most_recent_timestamp: want seconds, got " + s.kind())
				}
				return s.skip(depth)
			}
			text, err := s.number()
			if err != nil {
				return err
			}
			f, err := strconv.ParseFloat(text, 64)
			if err != nil {
				if *first == nil {
					*first = errors.New("most_recent_timestamp: want seconds, got " + text)
				}
				return nil
			}
			a.MostRecentTimestamp = Timestamp(int64(f))
			return nil
		case 3:
			return s.stringInto(&a.Flow, first, depth, "Artifact.flow")
		case 4:
			return s.stringInto(&a.CommitURL, first, depth, "Artifact.commit_url")
		case 5:
			if isNull, err := s.null(); isNull || err != nil {
				return err
			}
			if c := s.peek(); c != '-' && (c < '0' || c > '9') {
				return s.mismatch(first, depth, "Artifact.instance_count", "int")
			}
			text, err := s.number()
			if err != nil {
				return err
			}
			n, err := strconv.ParseInt(text, 10, 64)
			if err != nil || n > math.MaxInt || n < math.MinInt {
				if *first == nil {
					*first = &typeError{field: "Artifact.instance_count", want: "int", got: "number " + text}
				}
				return nil
			}
			a.InstanceCount = int(n)
			return nil
		}
		return s.skip(depth)
	})
}

// artifactJSONSize is about the fewest bytes one artifact of a Kosli diff
// takes (a 64-digit fingerprint, an image name, a commit URL, the keys).
const artifactJSONSize = 300

// artifacts decodes an "artifacts" value into *dst (nil for null).
func (s *diffScanner) artifacts(dst *[]Artifact, set *bool, first *error, depth int, field string) error {
	switch s.peek() {
	case 'n':
		*set = false
		*dst = nil
		return s.literal("null")
	case '[':
	default:
		return s.mismatch(first, depth, field, "[]release.Artifact")
	}
	*set = true
	// Like encoding/json, decode into the slice already there: elements are
	// reused, not zeroed, and the slice grows as append grows it.
	list := (*dst)[:0]
	err := s.array(depth+1, func() error {
		if len(list) < cap(list) {
			list = list[:len(list)+1]
		} else {
			if list == nil {
				// Room for as many artifacts as the rest of the document
				// could hold: fresh memory is only touched where it is
				// used, while growing by doubling copies (and touches)
				// every element again and again.
				list = make([]Artifact, 0, max(4, (len(s.src)-s.pos)/artifactJSONSize))
			}
			list = append(list, Artifact{})
		}
		a := &list[len(list)-1]
		switch s.peek() {
		case '{':
			return s.artifact(a, first, depth+2)
		case 'n':
			return s.literal("null")
		}
		return s.mismatch(first, depth+1, field, "release.Artifact")
	})
	*dst = list
	return err
}

// sideState is what was seen of one of the four top-level keys.
type sideState struct {
	present      bool // the key held an object (not null)
	idSet        bool
	artifactsSet bool
	id           string
	artifacts    []Artifact
}

func (s *diffScanner) side(st *sideState, withID bool, first *error, name string) error {
	switch s.peek() {
	case 'n':
		// null resets the pointer encoding/json would have allocated.
		*st = sideState{}
		return s.literal("null")
	case '{':
	default:
		return s.mismatch(first, 0, name, "object")
	}
	st.present = true
	return s.object(1, func(key string) error {
		names := []string{"artifacts"}
		if withID {
			names = append(names, "snapshot_id")
		}
		switch matchKey(key, names...) {
		case 0:
			return s.artifacts(&st.artifacts, &st.artifactsSet, first, 2, name+".artifacts")
		case 1:
			switch s.peek() {
			case '"':
				v, err := s.str()
				st.id, st.idSet = v, true
				return err
			case 'n':
				st.idSet = false
				return s.literal("null")
			}
			return s.mismatch(first, 2, name+".snapshot_id", "string")
		}
		return s.skip(2)
	})
}

// scanDiff decodes the document into the four parts; the caller checks that
// each required key was present.
func scanDiff(data string) (parts [4]sideState, err error) {
	s := &diffScanner{src: data}
	if s.peek() != '{' {
		return parts, s.fail("want a JSON object")
	}
	var first error
	err = s.object(0, func(key string) error {
		switch i := matchKey(key, "snappish1", "snappish2", "changed", "not-changed"); i {
		case 0, 1:
			return s.side(&parts[i], true, &first, key)
		case 2, 3:
			return s.side(&parts[i], false, &first, key)
		}
		return s.skip(0)
	})
	if err != nil {
		return parts, err
	}
	if s.peek() != 0 {
		return parts, s.fail("invalid character %q after top-level value", s.src[s.pos])
	}
	return parts, first
}
