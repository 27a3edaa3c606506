package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Objects is one rendered chart, decoded into the Kubernetes API types.
type Objects struct {
	Deployments     []*appsv1.Deployment
	Services        []*corev1.Service
	ConfigMaps      []*corev1.ConfigMap
	Secrets         []*corev1.Secret
	ServiceAccounts []*corev1.ServiceAccount
	PDBs            []*policyv1.PodDisruptionBudget
	ServiceMonitors []*ServiceMonitor
	// Names lists every object as Kind/name, in the order rendered.
	Names []string
}

// kinds are the objects the chart may render, by apiVersion and kind. A kind
// not listed is an error: add it here (with its API type) when the chart
// starts rendering it, so that it is checked as strictly as the rest.
var kinds = map[string]func(o *Objects) any{
	"v1/ConfigMap":                            collect(func(o *Objects) *[]*corev1.ConfigMap { return &o.ConfigMaps }),
	"v1/Secret":                               collect(func(o *Objects) *[]*corev1.Secret { return &o.Secrets }),
	"v1/Service":                              collect(func(o *Objects) *[]*corev1.Service { return &o.Services }),
	"v1/ServiceAccount":                       collect(func(o *Objects) *[]*corev1.ServiceAccount { return &o.ServiceAccounts }),
	"apps/v1/Deployment":                      collect(func(o *Objects) *[]*appsv1.Deployment { return &o.Deployments }),
	"policy/v1/PodDisruptionBudget":           collect(func(o *Objects) *[]*policyv1.PodDisruptionBudget { return &o.PDBs }),
	"monitoring.coreos.com/v1/ServiceMonitor": collect(func(o *Objects) *[]*ServiceMonitor { return &o.ServiceMonitors }),
}

// collect makes a new T, adds it to the list of Objects that field picks,
// and returns it to be decoded into.
func collect[T any](field func(o *Objects) *[]*T) func(o *Objects) any {
	return func(o *Objects) any {
		x := new(T)
		list := field(o)
		*list = append(*list, x)
		return x
	}
}

var sourceLine = regexp.MustCompile(`(?m)^# Source: (\S+)`)

// Decode reads a multi-document YAML stream (the output of helm template)
// and decodes every document strictly: an unknown or duplicate field, a
// field whose case is wrong, or a kind not in kinds is an error naming the
// document. Encoding/json alone would not do: it matches field names without
// regard to case, so readOnlyRootFileSystem would pass for
// readOnlyRootFilesystem; sigs.k8s.io/json is what the API server uses.
func Decode(r io.Reader) (*Objects, error) {
	o := &Objects{}
	var errs []error
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	for n := 1; ; n++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		where := fmt.Sprintf("document %d", n)
		if m := sourceLine.FindSubmatch(doc); m != nil {
			where = string(m[1])
		}
		if err := o.decodeOne(doc); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
	}
	if len(o.Names) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no objects: is the input the output of helm template?"))
	}
	return o, errors.Join(errs...)
}

func (o *Objects) decodeOne(doc []byte) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	if t := bytes.TrimSpace(j); len(t) == 0 || string(t) == "null" {
		return nil // only comments, or an empty document
	}
	// A lenient look first, to name the object in what follows.
	var head struct {
		metav1.TypeMeta `json:",inline"`
		Metadata        struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(j, &head); err != nil {
		return fmt.Errorf("not a Kubernetes object: %w", err)
	}
	tm := head.TypeMeta
	key := tm.APIVersion + "/" + tm.Kind
	id := tm.Kind + "/" + head.Metadata.Name
	if tm.APIVersion == "" || tm.Kind == "" {
		return errors.New("apiVersion and kind are required")
	}
	newObj, ok := kinds[key]
	if !ok {
		return fmt.Errorf("unknown kind %s %s: chartcheck decodes only %s", tm.APIVersion, tm.Kind, strings.Join(knownKinds(), ", "))
	}
	obj := newObj(o)
	strict, err := kjson.UnmarshalStrict(j, obj)
	if err != nil {
		return fmt.Errorf("%s: %w", id, err)
	}
	if len(strict) > 0 {
		msgs := make([]string, len(strict))
		for i, e := range strict {
			msgs[i] = e.Error()
		}
		return fmt.Errorf("%s: %s", id, strings.Join(msgs, "; "))
	}
	o.Names = append(o.Names, id)
	return nil
}

func knownKinds() []string {
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
