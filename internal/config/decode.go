package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The raw structs mirror the file. Every value is a yaml.Node so that it
// keeps its line and nothing is converted before validate looks at it;
// sections are structs so that KnownFields(true) refuses unknown keys.
type (
	rawFile struct {
		Settings  *rawSettings   `yaml:"settings"`
		Pipelines []*rawPipeline `yaml:"pipelines"`
	}
	rawSettings struct {
		TeamID       yaml.Node    `yaml:"team_id"`
		AppID        yaml.Node    `yaml:"app_id"`
		Retention    yaml.Node    `yaml:"retention"`
		WorkingAfter yaml.Node    `yaml:"working_after"`
		Redis        *rawRedis    `yaml:"redis"`
		Freezes      []*rawFreeze `yaml:"freezes"`
	}
	rawFreeze struct {
		Name     yaml.Node `yaml:"name"`
		Reason   yaml.Node `yaml:"reason"`
		Start    yaml.Node `yaml:"start"`
		Duration yaml.Node `yaml:"duration"`
		From     yaml.Node `yaml:"from"`
		Until    yaml.Node `yaml:"until"`
	}
	rawBreakGlass struct {
		Allowed      []yaml.Node `yaml:"allowed"`
		Required     yaml.Node   `yaml:"required"`
		ReviewWithin yaml.Node   `yaml:"review_within"`
	}
	rawRedis struct {
		MinReplicasAcked yaml.Node `yaml:"min_replicas_acked"`
		WaitTimeout      yaml.Node `yaml:"wait_timeout"`
	}
	rawPipeline struct {
		Name         yaml.Node        `yaml:"name"`
		From         yaml.Node        `yaml:"from"`
		To           yaml.Node        `yaml:"to"`
		Channel      yaml.Node        `yaml:"channel"`
		Approvals    *rawApprovals    `yaml:"approvals"`
		Evidence     *rawEvidence     `yaml:"evidence"`
		Workflow     *rawWorkflow     `yaml:"workflow"`
		Verify       *rawVerify       `yaml:"verify"`
		Gate         rawGate          `yaml:"gate"`
		DriftReport  *rawDriftReport  `yaml:"drift_report"`
		Freezes      []*rawFreeze     `yaml:"freezes"`
		BreakGlass   *rawBreakGlass   `yaml:"break_glass"`
		ChangeTicket *rawChangeTicket `yaml:"change_ticket"`
	}
	// rawGate is "gate: enforce" (the mode alone, as before) or
	// "gate: {mode: enforce, min_soak: 2h}".
	rawGate struct {
		Mode    yaml.Node `yaml:"mode"`
		MinSoak yaml.Node `yaml:"min_soak"`
	}
	rawChangeTicket struct {
		Required yaml.Node `yaml:"required"`
		Pattern  yaml.Node `yaml:"pattern"`
		URL      yaml.Node `yaml:"url"`
	}
	rawApprovals struct {
		Required          yaml.Node   `yaml:"required"`
		RollbackRequired  yaml.Node   `yaml:"rollback_required"`
		Approvers         []yaml.Node `yaml:"approvers"`
		AllowSelfApproval yaml.Node   `yaml:"allow_self_approval"`
		ExpireAfter       yaml.Node   `yaml:"expire_after"`
		Notify            yaml.Node   `yaml:"notify"`
		RemindAfter       yaml.Node   `yaml:"remind_after"`
		EscalateAfter     yaml.Node   `yaml:"escalate_after"`
		EscalateTo        []yaml.Node `yaml:"escalate_to"`
	}
	rawEvidence struct {
		Flow    yaml.Node `yaml:"flow"`
		Control yaml.Node `yaml:"control"`
		Timeout yaml.Node `yaml:"timeout"`
	}
	rawWorkflow struct {
		Repo    yaml.Node `yaml:"repo"`
		File    yaml.Node `yaml:"file"`
		Ref     yaml.Node `yaml:"ref"`
		Matrix  yaml.Node `yaml:"matrix"`
		Timeout yaml.Node `yaml:"timeout"`
	}
	rawVerify struct {
		Timeout yaml.Node `yaml:"timeout"`
	}
	rawDriftReport struct {
		Schedule       yaml.Node `yaml:"schedule"`
		QuietWhenEmpty yaml.Node `yaml:"quiet_when_empty"`
		StaleAfter     yaml.Node `yaml:"stale_after"`
	}
)

// walkBudget bounds the nodes the shape check visits, aliases expanded, so
// that a "billion laughs" file is refused instead of walked.
const walkBudget = 100_000

var yamlLine = regexp.MustCompile(`^yaml: line ([0-9]+): (.*)$`)

// decode turns the bytes into a rawFile. Problems with the shape of the file
// (not YAML, not a mapping, unknown keys, a list where a value belongs) are
// added to p; nodes maps each field path seen to its node, for line numbers
// and for telling a missing field from a malformed one.
func decode(p *problems, data []byte) (raw rawFile, nodes map[string]*yaml.Node, ok bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		p.add(0, "", "the file is empty; it needs a list of pipelines")
		return raw, nil, false
	} else if err != nil {
		p.addYAML(err)
		return raw, nil, false
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		p.add(next.Line, "", "holds a second YAML document; put everything in one")
		return raw, nil, false
	} else if !errors.Is(err, io.EOF) {
		p.addYAML(err)
		return raw, nil, false
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if isNull(root) {
		p.add(root.Line, "", "the file is empty; it needs a list of pipelines")
		return raw, nil, false
	}
	if resolve(root).Kind != yaml.MappingNode {
		p.add(root.Line, "", "must be a mapping with a pipelines list, not "+describe(resolve(root)))
		return raw, nil, false
	}

	w := walker{p: p, nodes: map[string]*yaml.Node{}, budget: walkBudget, active: map[*yaml.Node]bool{}}
	shapeProblems := len(p.list)
	w.walk(root, reflect.TypeFor[rawFile](), "")
	if w.budget < 0 {
		return raw, nil, false
	}
	shapeOK := len(p.list) == shapeProblems

	if err := decodeStrict(data, &raw); err != nil {
		var typeErr *yaml.TypeError
		switch {
		case !errors.As(err, &typeErr):
			if shapeOK {
				p.addYAML(err)
			}
			return raw, nil, false
		case shapeOK:
			// The walk should have explained every type error; if it did
			// not, still say something rather than accept a broken file.
			for _, msg := range typeErr.Errors {
				p.addYAML(errors.New("yaml: " + msg))
			}
		}
	}
	return raw, w.nodes, true
}

// decodeStrict decodes data into raw refusing unknown keys. yaml.v3 panics
// on some malformed merges (a mapping used as a key beside <<); that is an
// error in the file, not a reason to take the bot down.
func decodeStrict(data []byte, raw *rawFile) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: cannot decode: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	return dec.Decode(raw)
}

// addYAML records an error from the YAML library, keeping its line.
func (p *problems) addYAML(err error) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		p.add(line, "", "is not valid YAML: "+m[2])
		return
	}
	p.add(0, "", "is not valid YAML: "+strings.TrimPrefix(msg, "yaml: "))
}

// walker checks the shape of the document against the raw structs: every
// key known and set once, mappings, lists and single values where each
// belongs. It reports by field path, which yaml.v3's own errors cannot.
type walker struct {
	p      *problems
	nodes  map[string]*yaml.Node
	budget int
	active map[*yaml.Node]bool // mappings being walked, to catch a merge of itself
}

var (
	nodeType = reflect.TypeFor[yaml.Node]()
	gateType = reflect.TypeFor[rawGate]()
)

// UnmarshalYAML takes a scalar gate as its mode; a mapping is decoded as is
// (the walk has already refused its unknown keys).
func (g *rawGate) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		g.Mode = *n
		return nil
	}
	type plain rawGate
	return n.Decode((*plain)(g))
}

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) {
	if w.budget--; w.budget < 0 {
		if w.budget == -1 {
			w.p.add(n.Line, path, "the file is too large or repeats its aliases too often")
		}
		return
	}
	n = resolve(n)
	w.nodes[path] = n
	if isNull(n) {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == gateType && n.Kind == yaml.ScalarNode:
		w.nodes[join(path, "mode")] = n
	case t == nodeType:
		if n.Kind != yaml.ScalarNode {
			w.p.add(n.Line, path, "must be a single value, not "+describe(n))
		}
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.p.add(n.Line, path, "must be a list, not "+describe(n))
			return
		}
		for i, item := range n.Content {
			itemPath := path + "[" + strconv.Itoa(i) + "]"
			if isNull(resolve(item)) {
				w.p.add(item.Line, itemPath, "must not be empty")
				continue
			}
			w.walk(item, t.Elem(), itemPath)
		}
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			w.p.add(n.Line, path, "must be a mapping, not "+describe(n))
			return
		}
		w.mapping(n, t, path, map[string]int{}, false)
	}
}

// mapping walks the keys of n. seen holds the keys already set, with their
// lines; keys brought in by a merge (<<: *defaults) give way to them, as
// YAML says, instead of counting as set twice.
func (w *walker) mapping(n *yaml.Node, t reflect.Type, path string, seen map[string]int, merged bool) {
	if w.active[n] {
		w.p.add(n.Line, path, "merges itself: its <<: refers to its own anchor")
		return
	}
	w.active[n] = true
	defer delete(w.active, n)
	names, fields := fieldsOf(t)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := resolve(n.Content[i]), n.Content[i+1]
		if isMergeKey(key) {
			merges = append(merges, value)
			continue
		}
		if key.Kind != yaml.ScalarNode {
			w.p.add(key.Line, path, "has a key that is not a plain name: "+describe(key))
			continue
		}
		field := join(path, key.Value)
		if first, dup := seen[key.Value]; dup {
			if !merged {
				w.p.add(key.Line, field, fmt.Sprintf("is set twice (first at line %d)", first))
			}
			continue
		}
		seen[key.Value] = key.Line
		ft, known := fields[key.Value]
		if !known {
			w.p.add(key.Line, field, "unknown field; expected one of "+strings.Join(names, ", "))
			continue
		}
		w.walk(value, ft, field)
	}
	for _, m := range merges {
		m = resolve(m)
		items := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			items = m.Content
		}
		for _, item := range items {
			if item = resolve(item); item.Kind != yaml.MappingNode {
				w.p.add(item.Line, join(path, "<<"), "must be a mapping, or a list of mappings, to merge")
				continue
			}
			w.mapping(item, t, path, seen, true)
		}
	}
}

// fieldsOf lists the yaml keys of a raw struct, in declaration order.
func fieldsOf(t reflect.Type) ([]string, map[string]reflect.Type) {
	var names []string
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		names = append(names, name)
		fields[name] = f.Type
	}
	return names, fields
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)

// join extends a field path by a key, quoting a key that would garble it.
func join(path, key string) string {
	if !plainKey.MatchString(key) {
		return path + "[" + quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func isMergeKey(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Value == "<<" && (n.Tag == "" || n.Tag == "!" || n.ShortTag() == "!!merge")
}

// describe names what a node is, for "must be a list, not …".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "the value " + quote(n.Value)
	}
	return "nothing"
}
