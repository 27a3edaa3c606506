package release

// Canonical JSON (RFC 8785) and the strict JSON reading that feeds it:
// what a manifest digest is computed over.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// parseJSON decodes one JSON value into maps, slices, strings, json.Number,
// bools and nil, refusing what cannot be hashed one way (RFC 8785 wants
// I-JSON): bytes that are not UTF-8, a name twice in one object, and
// anything after the value.
func parseJSON(data []byte) (any, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("invalid JSON: not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := parseValue(dec, "")
	switch {
	case errors.Is(err, io.EOF) && len(bytes.TrimSpace(data)) == 0:
		return nil, errors.New("invalid JSON: empty input")
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return nil, errors.New("invalid JSON: unexpected end of input")
	case err != nil:
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return nil, fmt.Errorf("invalid JSON at byte %d: %w", syntax.Offset, err)
		}
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("invalid JSON: data after the top-level value")
	}
	return v, nil
}

func parseValue(dec *json.Decoder, ptr string) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		obj := map[string]any{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key := k.(string)
			if _, dup := obj[key]; dup {
				return nil, fmt.Errorf("%s: name %q appears twice", pointerOrDocument(ptr), key)
			}
			if obj[key], err = parseValue(dec, ptr+"/"+pointerEscaper.Replace(key)); err != nil {
				return nil, err
			}
		}
		_, err = dec.Token()
		return obj, err
	case json.Delim('['):
		arr := []any{}
		for dec.More() {
			v, err := parseValue(dec, fmt.Sprintf("%s/%d", ptr, len(arr)))
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err = dec.Token()
		return arr, err
	}
	return tok, nil
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// appendCanonical writes v as RFC 8785 (JCS) canonical JSON: object names
// sorted by UTF-16 code units, no insignificant white space, strings escaped
// only where JSON must, numbers as integers (all a manifest could hold).
func appendCanonical(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case string:
		return appendJCSString(b, v), nil
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return nil, fmt.Errorf("number %s: only integers up to 2^53 can be hashed", v)
		}
		return strconv.AppendInt(b, int64(f), 10), nil
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendCanonical(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		keys := slices.Collect(maps.Keys(v))
		slices.SortFunc(keys, func(x, y string) int {
			return slices.Compare(utf16.Encode([]rune(x)), utf16.Encode([]rune(y)))
		})
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendJCSString(b, k), ':')
			var err error
			if b, err = appendCanonical(b, v[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	return nil, fmt.Errorf("cannot hash a %T", v)
}

// appendJCSString quotes s as RFC 8785 does (ECMAScript's JSON.stringify):
// `"` and `\` escaped, control characters as \b \t \n \f \r or \u00xx,
// everything else as its UTF-8 bytes.
func appendJCSString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\b':
			b = append(b, `\b`...)
		case c == '\t':
			b = append(b, `\t`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '\f':
			b = append(b, `\f`...)
		case c == '\r':
			b = append(b, `\r`...)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// firstDifference finds where two documents differ: the JSON pointer and
// what differs there, or "", "" when they are the same. a is the document
// as read, b as written again.
func firstDifference(a, b any, ptr string) (string, string) {
	switch a := a.(type) {
	case map[string]any:
		bo, ok := b.(map[string]any)
		if !ok {
			return pointerOrDocument(ptr), "want " + jsonKind(b) + ", got an object"
		}
		keys := slices.Sorted(maps.Keys(a))
		for _, k := range keys {
			if _, ok := bo[k]; !ok {
				return ptr + "/" + pointerEscaper.Replace(k), "unknown field"
			}
		}
		for _, k := range slices.Sorted(maps.Keys(bo)) {
			if _, ok := a[k]; !ok {
				return ptr + "/" + pointerEscaper.Replace(k), "missing"
			}
		}
		for _, k := range keys {
			if p, what := firstDifference(a[k], bo[k], ptr+"/"+pointerEscaper.Replace(k)); what != "" {
				return p, what
			}
		}
		return "", ""
	case []any:
		ba, ok := b.([]any)
		if !ok || len(a) != len(ba) {
			return pointerOrDocument(ptr), "want " + jsonKind(b) + ", got " + jsonKind(a)
		}
		for i := range a {
			if p, what := firstDifference(a[i], ba[i], fmt.Sprintf("%s/%d", ptr, i)); what != "" {
				return p, what
			}
		}
		return "", ""
	}
	switch {
	case a == b:
		return "", ""
	case jsonKind(a) != jsonKind(b):
		return pointerOrDocument(ptr), "want " + jsonKind(b) + ", got " + jsonKind(a)
	}
	return pointerOrDocument(ptr), fmt.Sprintf("%q is not in the form release-bot writes (%q)", a, b)
}

// jsonKind names the kind of a decoded JSON value.
func jsonKind(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case []any:
		return fmt.Sprintf("an array of %d", len(v))
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
