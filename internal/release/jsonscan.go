package release

import (
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The JSON primitives of the diff scanner: white space, literals, objects,
// arrays, strings and numbers, each checked as encoding/json checks them.

// diffScanner reads one JSON document, keeping its position.
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
	src, i := s.src, s.pos
	for i < len(src) {
		c := src[i]
		if c > ' ' || (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
			break
		}
		i++
		if c == '\n' {
			// Indented JSON: a new line starts with a run of spaces.
			for i+8 <= len(src) && load64(src, i) == ones*' ' {
				i += 8
			}
		}
	}
	s.pos = i
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
