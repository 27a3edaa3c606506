package release

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
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

type diffScanner struct {
	src string // one copy of the input; decoded strings are slices of it
	pos int
}

type scanError struct {
	msg string
	pos int
}

func (e *scanError) Error() string { return fmt.Sprintf("invalid JSON at byte %d: %s", e.pos, e.msg) }

type typeError struct{ field, want, got string }

func (e *typeError) Error() string {
	return fmt.Sprintf("%s: want %s, got JSON %s", e.field, e.want, e.got)
}

func (s *diffScanner) fail(format string, args ...any) error {
	return &scanError{msg: fmt.Sprintf(format, args...), pos: s.pos}
}

func (s *diffScanner) ws() {
	for s.pos < len(s.src) {
		switch s.src[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (s *diffScanner) peek() byte {
	s.ws()
	if s.pos >= len(s.src) {
		return 0
	}
	return s.src[s.pos]
}

func (s *diffScanner) literal(word string) error {
	if !strings.HasPrefix(s.src[s.pos:], word) {
		return s.fail("invalid literal")
	}
	s.pos += len(word)
	return nil
}

// null consumes a null if one is next.
func (s *diffScanner) null() (bool, error) {
	if s.peek() != 'n' {
		return false, nil
	}
	return true, s.literal("null")
}

// object calls field for each key of an object; field must consume the value.
func (s *diffScanner) object(depth int, field func(key string) error) error {
	if depth > maxDepth {
		return s.fail("exceeded max depth")
	}
	s.pos++ // '{'
	if s.peek() == '}' {
		s.pos++
		return nil
	}
	for {
		if s.peek() != '"' {
			return s.fail("looking for beginning of object key string")
		}
		key, err := s.str()
		if err != nil {
			return err
		}
		if s.peek() != ':' {
			return s.fail("after object key")
		}
		s.pos++
		s.ws()
		if err := field(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return s.fail("after object key:value pair")
		}
	}
}

// array calls elem for each element; elem must consume the value.
func (s *diffScanner) array(depth int, elem func() error) error {
	if depth > maxDepth {
		return s.fail("exceeded max depth")
	}
	s.pos++ // '['
	if s.peek() == ']' {
		s.pos++
		return nil
	}
	for {
		s.ws()
		if err := elem(); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return s.fail("after array element")
		}
	}
}

// str reads a string, s.pos at its opening quote.
func (s *diffScanner) str() (string, error) {
	start := s.pos + 1
	i := plainRun(s.src, start, false)
	for i < len(s.src) {
		c := s.src[i]
		switch {
		case c == '"':
			s.pos = i + 1
			return s.src[start:i], nil
		case c == '\\' || c >= utf8.RuneSelf:
			return s.slowStr(start)
		case c < 0x20:
			s.pos = i
			return "", s.fail("invalid character in string literal")
		}
		i++
	}
	s.pos = len(s.src)
	return "", s.fail("unexpected end of JSON input")
}

// slowStr decodes a string with escapes or non-ASCII bytes as encoding/json does.
func (s *diffScanner) slowStr(start int) (string, error) {
	var b strings.Builder
	i := start
	for i < len(s.src) {
		c := s.src[i]
		switch {
		case c == '"':
			s.pos = i + 1
			return b.String(), nil
		case c < 0x20:
			s.pos = i
			return "", s.fail("invalid character in string literal")
		case c == '\\':
			if i+1 >= len(s.src) {
				s.pos = len(s.src)
				return "", s.fail("unexpected end of JSON input")
			}
			switch e := s.src[i+1]; e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				r, ok := hex4(s.src, i+2)
				if !ok {
					s.pos = i
					return "", s.fail("invalid escape in string literal")
				}
				i += 6
				if utf16.IsSurrogate(r) {
					if r2, ok2 := hex4(s.src, i+2); ok2 && i+1 < len(s.src) && s.src[i] == '\\' && s.src[i+1] == 'u' {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							b.WriteRune(dec)
							i += 6
							continue
						}
					}
					r = utf8.RuneError
				}
				b.WriteRune(r)
				continue
			default:
				s.pos = i
				return "", s.fail("invalid escape in string literal")
			}
			i += 2
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s.src[i:])
			if r == utf8.RuneError && size == 1 {
				b.WriteRune(utf8.RuneError)
			} else {
				b.WriteString(s.src[i : i+size])
			}
			i += size
		}
	}
	s.pos = len(s.src)
	return "", s.fail("unexpected end of JSON input")
}

func hex4(src string, at int) (rune, bool) {
	if at+4 > len(src) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(src[at : at+4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads a JSON number and returns its text.
func (s *diffScanner) number() (string, error) {
	start := s.pos
	i := s.pos
	digits := func() int {
		n := 0
		for i < len(s.src) && '0' <= s.src[i] && s.src[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s.src) && s.src[i] == '-' {
		i++
	}
	switch {
	case i < len(s.src) && s.src[i] == '0':
		i++
	case digits() == 0:
		s.pos = i
		return "", s.fail("invalid number")
	}
	if i < len(s.src) && s.src[i] == '.' {
		i++
		if digits() == 0 {
			s.pos = i
			return "", s.fail("invalid number")
		}
	}
	if i < len(s.src) && (s.src[i] == 'e' || s.src[i] == 'E') {
		i++
		if i < len(s.src) && (s.src[i] == '+' || s.src[i] == '-') {
			i++
		}
		if digits() == 0 {
			s.pos = i
			return "", s.fail("invalid number")
		}
	}
	s.pos = i
	return s.src[start:i], nil
}

// skip consumes any value, checking that it is valid JSON.
func (s *diffScanner) skip(depth int) error {
	switch c := s.peek(); {
	case c == '{':
		return s.object(depth+1, func(string) error { return s.skip(depth + 1) })
	case c == '[':
		return s.array(depth+1, func() error { return s.skip(depth + 1) })
	case c == '"':
		_, err := s.str()
		return err
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		_, err := s.number()
		return err
	case c == 0:
		return s.fail("unexpected end of JSON input")
	default:
		return s.fail("invalid character %q looking for beginning of value", c)
	}
}

// kind names the JSON value that starts at s.pos, for type errors.
func (s *diffScanner) kind() string {
	switch c := s.peek(); {
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == '"':
		return "string"
	case c == 't' || c == 'f':
		return "bool"
	case c == 'n':
		return "null"
	}
	return "number"
}

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
