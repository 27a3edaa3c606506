package main

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

type secretRef struct {
	name, key, from string
	optional        bool
}

// checkSecrets checks every reference to a Secret: with existingSecret,
// the chart renders no Secret and references only that one; otherwise each
// referenced Secret and key is rendered, with a value.
func checkSecrets(o *Objects, opts Options, p *problems) {
	var refs []secretRef
	for _, d := range o.Deployments {
		where := "Deployment/" + d.Name
		spec := d.Spec.Template.Spec
		for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					r := e.ValueFrom.SecretKeyRef
					refs = append(refs, secretRef{r.Name, r.Key, where + " env " + e.Name, r.Optional != nil && *r.Optional})
				}
			}
			for _, e := range c.EnvFrom {
				if e.SecretRef != nil {
					refs = append(refs, secretRef{e.SecretRef.Name, "", where + " envFrom", e.SecretRef.Optional != nil && *e.SecretRef.Optional})
				}
			}
		}
		for _, v := range spec.Volumes {
			if v.Secret == nil {
				continue
			}
			opt := v.Secret.Optional != nil && *v.Secret.Optional
			refs = append(refs, secretRef{v.Secret.SecretName, "", where + " volume " + v.Name, opt})
			for _, it := range v.Secret.Items {
				refs = append(refs, secretRef{v.Secret.SecretName, it.Key, where + " volume " + v.Name, opt})
			}
		}
	}
	if opts.ExistingSecret != "" {
		for _, s := range o.Secrets {
			p.add("Secret/"+s.Name, "rendered although existingSecret (%s) is set: the credentials must come from that Secret only", opts.ExistingSecret)
		}
		for _, r := range refs {
			if r.name != opts.ExistingSecret {
				p.add(r.from, "refers to Secret %s, not existingSecret %s", r.name, opts.ExistingSecret)
			}
		}
		if len(refs) == 0 {
			p.add("chart", "existingSecret %s is set but nothing refers to it", opts.ExistingSecret)
		}
		return
	}
	for _, s := range o.Secrets {
		for k, v := range s.Data {
			if len(v) == 0 {
				p.add("Secret/"+s.Name, "key %s is empty", k)
			}
		}
	}
	for _, r := range refs {
		i := slices.IndexFunc(o.Secrets, func(s *corev1.Secret) bool { return s.Name == r.name })
		if i < 0 {
			p.add(r.from, "refers to Secret %s, which the chart does not render", r.name)
			continue
		}
		if r.key == "" || r.optional {
			continue
		}
		s := o.Secrets[i]
		if _, ok := s.Data[r.key]; !ok {
			if _, ok := s.StringData[r.key]; !ok {
				p.add(r.from, "refers to key %s, which Secret %s lacks", r.key, r.name)
			}
		}
	}
}

// checkServices checks that every Service selects pods of the chart, on
// ports they have.
func checkServices(o *Objects, p *problems) {
	for _, s := range o.Services {
		where := "Service/" + s.Name
		if len(s.Spec.Selector) == 0 {
			p.add(where, "has no selector")
			continue
		}
		var pods []corev1.PodSpec
		for _, d := range o.Deployments {
			if labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
				pods = append(pods, d.Spec.Template.Spec)
			}
		}
		if len(pods) == 0 {
			p.add(where, "selector %v matches no Deployment's pods", s.Spec.Selector)
			continue
		}
		for _, port := range s.Spec.Ports {
			if !slices.ContainsFunc(pods, func(ps corev1.PodSpec) bool { return hasPort(ps, port.TargetPort) }) {
				p.add(where, "port %s: targetPort %s is not a port of the selected pods", port.Name, port.TargetPort.String())
			}
		}
	}
}

func hasPort(ps corev1.PodSpec, target intstr.IntOrString) bool {
	for _, c := range ps.Containers {
		for _, cp := range c.Ports {
			if (target.Type == intstr.String && cp.Name == target.StrVal) || (target.Type == intstr.Int && cp.ContainerPort == target.IntVal) {
				return true
			}
		}
	}
	return false
}

// checkServiceMonitors checks that every ServiceMonitor selects a rendered
// Service by its port name, with intervals Prometheus accepts.
func checkServiceMonitors(o *Objects, p *problems) {
	for _, sm := range o.ServiceMonitors {
		where := "ServiceMonitor/" + sm.Name
		sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		if err != nil || sel.Empty() {
			p.add(where, "spec.selector is missing or invalid")
			continue
		}
		var svcs []*corev1.Service
		for _, s := range o.Services {
			if sel.Matches(labels.Set(s.Labels)) {
				svcs = append(svcs, s)
			}
		}
		if len(svcs) == 0 {
			p.add(where, "selector %s matches no Service", sel)
			continue
		}
		if len(sm.Spec.Endpoints) == 0 {
			p.add(where, "has no endpoints")
		}
		for _, ep := range sm.Spec.Endpoints {
			named := func(s *corev1.Service) bool {
				return slices.ContainsFunc(s.Spec.Ports, func(sp corev1.ServicePort) bool { return sp.Name == ep.Port })
			}
			if !slices.ContainsFunc(svcs, named) {
				p.add(where, "endpoint port %q is not a port name of the selected Service", ep.Port)
			}
			if ep.Path != "/metrics" {
				p.add(where, "endpoint path must be /metrics, got %q", ep.Path)
			}
			interval, err1 := promDuration(ep.Interval)
			timeout, err2 := promDuration(ep.ScrapeTimeout)
			switch {
			case err1 != nil:
				p.add(where, "interval: %v", err1)
			case err2 != nil:
				p.add(where, "scrapeTimeout: %v", err2)
			case interval > 0 && timeout > interval:
				p.add(where, "scrapeTimeout %s is longer than interval %s", ep.ScrapeTimeout, ep.Interval)
			}
		}
	}
}

var promDurationRE = regexp.MustCompile(`^(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$`)

// promDuration parses a Prometheus Operator duration ("30s", "1m30s"; "" is unset).
func promDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if !promDurationRE.MatchString(s) {
		return 0, fmt.Errorf("%q is not a duration such as 30s or 1m", s)
	}
	return time.ParseDuration(s)
}
