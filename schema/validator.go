package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

const draft2020 = "https://json-schema.org/draft/2020-12/schema"

// node is one compiled schema object. The messages it gives follow
// santhosh-tekuri/jsonschema's English wording, which people and tests
// already read.
type node struct {
	types                            []string // "type"; nil when absent
	hasConst                         bool
	constant                         any // a string, a bool or nil
	format                           string
	ref                              *node
	required                         []string
	props                            map[string]*node
	closed                           bool // additionalProperties: false
	items                            *node
	minItems                         int // -1 when absent
	minLength                        int // -1 when absent
	pattern                          *regexp.Regexp
	anyOf                            []*node
	ifSchema, thenSchema, elseSchema *node
}

// compiler turns one schema document into nodes, resolving "#/…" references
// within it; refs holds each referenced schema once, by JSON pointer.
type compiler struct {
	root map[string]any
	refs map[string]*node
}

// compile reads the schema src published as id. It refuses any keyword,
// format or value it does not implement, naming it and where it is, so that
// a schema edit cannot silently weaken validation.
func compile(id string, src []byte) (*node, error) {
	var root map[string]any
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("schema %s: %w", id, err)
	}
	if root["$schema"] != draft2020 || root["$id"] != id {
		return nil, fmt.Errorf("schema %s: want $schema %s and $id %s", id, draft2020, id)
	}
	c := &compiler{root: root, refs: map[string]*node{}}
	n, err := c.node(root, "")
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", id, err)
	}
	return n, nil
}

func (c *compiler) node(v any, at string) (*node, error) {
	n := &node{}
	return n, c.fill(n, v, at)
}

// fill compiles the schema v, found at the JSON pointer at, into n.
func (c *compiler) fill(n *node, v any, at string) error {
	s, ok := v.(map[string]any)
	if !ok {
		return &schemaError{at, errors.New("a schema must be an object")}
	}
	n.minItems, n.minLength = -1, -1
	for _, kw := range slices.Sorted(maps.Keys(s)) {
		kwAt := at + "/" + escape(kw)
		if err := c.keyword(n, kw, s[kw], kwAt); err != nil {
			if _, inner := err.(*schemaError); inner {
				return err
			}
			return &schemaError{kwAt, err}
		}
	}
	if (n.thenSchema != nil || n.elseSchema != nil) && n.ifSchema == nil {
		return &schemaError{at, errors.New("then or else without if")}
	}
	return nil
}

// schemaError is a schema the compiler refuses, and where in it.
type schemaError struct {
	at  string // a JSON pointer into the schema
	err error
}

func (e *schemaError) Error() string { return where(e.at) + ": " + e.err.Error() }

func (c *compiler) keyword(n *node, kw string, v any, at string) (err error) {
	switch kw {
	case "title", "description", "$comment":
	case "$schema", "$id":
		if at != "/"+kw {
			return errors.New("only at the root")
		}
	case "$defs":
		defs, ok := v.(map[string]any)
		if !ok {
			return errors.New("not an object")
		}
		for _, name := range slices.Sorted(maps.Keys(defs)) {
			if _, err := c.ref("#" + at + "/" + escape(name)); err != nil {
				return err
			}
		}
	case "$ref":
		ref, _ := v.(string)
		n.ref, err = c.ref(ref)
	case "type":
		names, ok := v.([]any)
		if !ok {
			names = []any{v}
		}
		all := []string{"null", "boolean", "number", "integer", "string", "array", "object"} // the order messages list them in
		for _, t := range names {
			if name, _ := t.(string); !slices.Contains(all, name) {
				return fmt.Errorf("unknown type %v", t)
			}
		}
		for _, t := range all {
			if slices.Contains(names, any(t)) {
				n.types = append(n.types, t)
			}
		}
	case "const":
		switch v.(type) {
		case string, bool, nil:
			n.hasConst, n.constant = true, v
		default:
			return errors.New("only a string, a boolean or null is implemented")
		}
	case "format":
		if v != "date-time" && v != "uri" {
			return fmt.Errorf("format %v not implemented", v)
		}
		n.format = v.(string)
	case "required":
		names, ok := v.([]any)
		for _, name := range names {
			s, isString := name.(string)
			ok = ok && isString
			n.required = append(n.required, s)
		}
		if !ok {
			return errors.New("not a list of names")
		}
	case "properties":
		props, ok := v.(map[string]any)
		if !ok {
			return errors.New("not an object")
		}
		n.props = map[string]*node{}
		for _, name := range slices.Sorted(maps.Keys(props)) {
			if n.props[name], err = c.node(props[name], at+"/"+escape(name)); err != nil {
				return err
			}
		}
	case "additionalProperties":
		if v != false {
			return errors.New("only false is implemented")
		}
		n.closed = true
	case "items":
		n.items, err = c.node(v, at)
	case "minItems":
		n.minItems, err = count(v)
	case "minLength":
		n.minLength, err = count(v)
	case "pattern":
		p, _ := v.(string)
		n.pattern, err = regexp.Compile(p)
	case "anyOf":
		branches, ok := v.([]any)
		if !ok || len(branches) == 0 {
			return errors.New("not a list of schemas")
		}
		for i, b := range branches {
			sub, err := c.node(b, at+"/"+strconv.Itoa(i))
			if err != nil {
				return err
			}
			n.anyOf = append(n.anyOf, sub)
		}
	case "if":
		n.ifSchema, err = c.node(v, at)
	case "then":
		n.thenSchema, err = c.node(v, at)
	case "else":
		n.elseSchema, err = c.node(v, at)
	default:
		return fmt.Errorf("keyword %q not implemented", kw)
	}
	return err
}

// ref compiles the schema a "#/…" reference points to, once.
func (c *compiler) ref(ref string) (*node, error) {
	if n, ok := c.refs[ref]; ok {
		return n, nil
	}
	ptr, ok := strings.CutPrefix(ref, "#")
	if !ok || (ptr != "" && ptr[0] != '/') {
		return nil, fmt.Errorf("$ref %q: only references within the schema (#/…) are implemented", ref)
	}
	var v any = c.root
	for i, tok := range strings.Split(ptr, "/") {
		if i == 0 {
			continue // before the first "/": the root
		}
		obj, _ := v.(map[string]any)
		if v, ok = obj[strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")]; !ok {
			return nil, fmt.Errorf("$ref %q: no such schema", ref)
		}
	}
	n := &node{}
	c.refs[ref] = n // before filling, so a schema may refer to itself
	return n, c.fill(n, v, ptr)
}

// count reads a non-negative whole number, as minItems and minLength take.
func count(v any) (int, error) {
	num, _ := v.(json.Number)
	i, err := strconv.Atoi(string(num))
	if err != nil || i < 0 {
		return 0, errors.New("not a non-negative integer")
	}
	return i, nil
}

// check appends to out each way v, found at the JSON pointer at, breaks n.
// Like santhosh-tekuri/jsonschema, a wrong type, a wrong constant or a bad
// format is the only problem reported for that value.
func (n *node) check(v any, at string, out []Problem) []Problem {
	add := func(format string, args ...any) { out = append(out, Problem{at, fmt.Sprintf(format, args...)}) }
	got := jsonType(v)
	switch {
	case got == "":
		add("invalid jsonType %T", v)
		return out
	case n.types != nil && !slices.Contains(n.types, got) && !(got == "number" && slices.Contains(n.types, "integer") && isInteger(v)):
		add("got %s, want %s", got, strings.Join(n.types, " or "))
		return out
	case n.hasConst && !equal(v, n.constant):
		add("value must be %s", display(n.constant))
		return out
	}
	if s, ok := v.(string); ok && n.format != "" {
		valid := validDateTime
		if n.format == "uri" {
			valid = validURI
		}
		if err := valid(s); err != nil {
			add("%s is not valid %s: %v", quote(s), n.format, err)
			return out
		}
	}
	if n.ref != nil {
		out = n.ref.check(v, at, out)
	}
	switch v := v.(type) {
	case map[string]any:
		var missing, extra []string
		for _, name := range n.required {
			if _, ok := v[name]; !ok {
				missing = append(missing, quote(name))
			}
		}
		if len(missing) == 1 {
			add("missing property %s", missing[0])
		} else if len(missing) > 1 {
			add("missing properties %s", strings.Join(missing, ", "))
		}
		for name, value := range v {
			if sub, ok := n.props[name]; ok {
				out = sub.check(value, at+"/"+escape(name), out)
			} else if n.closed {
				extra = append(extra, quote(name))
			}
		}
		if extra != nil {
			slices.Sort(extra)
			add("additional properties %s not allowed", strings.Join(extra, ", "))
		}
	case []any:
		if len(v) < n.minItems {
			add("minItems: got %d, want %d", len(v), n.minItems)
		}
		for i, item := range v {
			if n.items != nil {
				out = n.items.check(item, at+"/"+strconv.Itoa(i), out)
			}
		}
	case string:
		if count := utf8.RuneCountInString(v); count < n.minLength {
			add("minLength: got %d, want %d", count, n.minLength)
		}
		if n.pattern != nil && !n.pattern.MatchString(v) {
			add("%s does not match pattern %s", quote(v), quote(n.pattern.String()))
		}
	}
	if n.anyOf != nil {
		var all []Problem
		for _, b := range n.anyOf {
			p := b.check(v, at, nil)
			if len(p) == 0 {
				all = nil
				break
			}
			all = append(all, p...)
		}
		out = append(out, all...)
	}
	if n.ifSchema != nil {
		if len(n.ifSchema.check(v, at, nil)) == 0 {
			if n.thenSchema != nil {
				out = n.thenSchema.check(v, at, out)
			}
		} else if n.elseSchema != nil {
			out = n.elseSchema.check(v, at, out)
		}
	}
	return out
}

// jsonType names v's JSON type; "" when v is not a JSON value.
func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return ""
		}
		return "number"
	case float32:
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return ""
		}
		return "number"
	case json.Number, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return ""
}

// isInteger says whether the number v has no fractional part.
func isInteger(v any) bool {
	r, ok := new(big.Rat).SetString(fmt.Sprint(v))
	return ok && r.IsInt()
}

// equal compares v with a constant that is a string, a bool or nil.
func equal(v, constant any) bool {
	switch c := constant.(type) {
	case string:
		s, ok := v.(string)
		return ok && s == c
	case bool:
		b, ok := v.(bool)
		return ok && b == c
	}
	return v == nil
}

// display writes a constant in a message: strings quoted, the rest as Go prints them.
func display(v any) string {
	if s, ok := v.(string); ok {
		return quote(s)
	}
	return fmt.Sprint(v)
}

// quote single-quotes s, escaping as Go's %q does but leaving " alone.
func quote(s string) string {
	s = strconv.Quote(s)
	s = strings.ReplaceAll(s, `\"`, `"`)
	s = strings.ReplaceAll(s, `'`, `\'`)
	return "'" + s[1:len(s)-1] + "'"
}

// escape writes one JSON pointer (RFC 6901) token: "~" as "~0", "/" as "~1".
func escape(tok string) string {
	if !strings.ContainsAny(tok, "~/") {
		return tok
	}
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}

// where names a place in a schema for a compile error.
func where(at string) string {
	if at == "" {
		return "(root)"
	}
	return at
}
