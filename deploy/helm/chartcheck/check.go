package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Options says what the rendered chart was asked for.
type Options struct {
	// ExistingSecret is the values' existingSecret: when set, the chart must
	// render no Secret and every secret reference must name this one.
	ExistingSecret string
}

// The bot's contract with the chart.
const (
	uid            = 65532 // distroless "nonroot", the image's USER
	configPath     = "/etc/release-bot/pipelines.yaml"
	defaultDrain   = 25 * time.Second // bot serve --drain's default
	graceOverDrain = 5 * time.Second  // closing the socket and releasing leases after the drain
)

// problems collects what is wrong, each naming its object.
type problems []error

func (p *problems) add(where, format string, args ...any) {
	*p = append(*p, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...)))
}

// Check runs the semantic checks on a decoded chart: what strict decoding
// cannot see, and what the bot needs to run safely. It returns every problem
// found, joined.
func Check(o *Objects, opts Options) error {
	var p problems
	checkNames(o, &p)
	bots := 0
	for _, d := range o.Deployments {
		where := "Deployment/" + d.Name
		checkDeployment(o, d, where, &p)
		if isBot(d) {
			bots++
			checkBot(o, d, where, &p)
		}
	}
	if bots != 1 {
		p.add("chart", "%d Deployments run `bot serve`, want exactly 1", bots)
	}
	checkSecrets(o, opts, &p)
	checkServices(o, &p)
	checkServiceMonitors(o, &p)
	return errors.Join(p...)
}

// checkNames checks object names, labels and annotation keys as the API server would.
func checkNames(o *Objects, p *problems) {
	type named struct {
		kind string
		meta *metav1.ObjectMeta
	}
	var all []named
	for _, x := range o.Deployments {
		all = append(all, named{"Deployment", &x.ObjectMeta}, named{"Deployment pod template", &x.Spec.Template.ObjectMeta})
	}
	for _, x := range o.Services {
		all = append(all, named{"Service", &x.ObjectMeta})
		for _, msg := range validation.IsDNS1035Label(x.Name) {
			p.add("Service/"+x.Name, "name: %s", msg)
		}
	}
	for _, x := range o.ConfigMaps {
		all = append(all, named{"ConfigMap", &x.ObjectMeta})
	}
	for _, x := range o.Secrets {
		all = append(all, named{"Secret", &x.ObjectMeta})
	}
	for _, x := range o.ServiceAccounts {
		all = append(all, named{"ServiceAccount", &x.ObjectMeta})
	}
	for _, x := range o.PDBs {
		all = append(all, named{"PodDisruptionBudget", &x.ObjectMeta})
	}
	for _, x := range o.ServiceMonitors {
		all = append(all, named{"ServiceMonitor", &x.ObjectMeta})
	}
	seen := map[string]bool{}
	for _, n := range all {
		where := n.kind + "/" + n.meta.Name
		if n.kind != "Deployment pod template" {
			if seen[where] {
				p.add(where, "rendered twice")
			}
			seen[where] = true
			for _, msg := range validation.IsDNS1123Subdomain(n.meta.Name) {
				p.add(where, "name: %s", msg)
			}
		}
		for k, v := range n.meta.Labels {
			for _, msg := range validation.IsQualifiedName(k) {
				p.add(where, "label %q: %s", k, msg)
			}
			for _, msg := range validation.IsValidLabelValue(v) {
				p.add(where, "label %s=%q: %s", k, v, msg)
			}
		}
		for k := range n.meta.Annotations {
			for _, msg := range validation.IsQualifiedName(strings.ToLower(k)) {
				p.add(where, "annotation %q: %s", k, msg)
			}
		}
	}
}

// isBot reports whether a Deployment runs the bot: a container whose
// arguments start with "serve" (the image's ENTRYPOINT is /bot).
func isBot(d *appsv1.Deployment) bool {
	return botContainer(d) != nil
}

func botContainer(d *appsv1.Deployment) *corev1.Container {
	for i := range d.Spec.Template.Spec.Containers {
		c := &d.Spec.Template.Spec.Containers[i]
		if len(c.Args) > 0 && c.Args[0] == "serve" && len(c.Command) == 0 {
			return c
		}
	}
	return nil
}

// checkDeployment checks what every Deployment of the chart must have: a
// selector matching its pods, a restrictive securityContext on the pod and
// on every container, probes and resources on every container.
func checkDeployment(o *Objects, d *appsv1.Deployment, where string, p *problems) {
	spec := d.Spec.Template.Spec
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	switch {
	case d.Spec.Selector == nil || err != nil || sel.Empty():
		p.add(where, "spec.selector is missing or invalid: %v", err)
	case !sel.Matches(labels.Set(d.Spec.Template.Labels)):
		p.add(where, "spec.selector %s does not match the pod template's labels", sel)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		p.add(where, "automountServiceAccountToken must be false: nothing in the pod calls the Kubernetes API")
	}
	if name := spec.ServiceAccountName; name != "" && name != "default" && !hasServiceAccount(o, name) {
		p.add(where, "serviceAccountName %q is not rendered by the chart", name)
	}
	psc := spec.SecurityContext
	if psc == nil {
		p.add(where, "pod securityContext is missing")
	} else {
		if !isTrue(psc.RunAsNonRoot) {
			p.add(where, "pod securityContext.runAsNonRoot must be true")
		}
		if psc.RunAsUser == nil || *psc.RunAsUser != uid {
			p.add(where, "pod securityContext.runAsUser must be %d", uid)
		}
		if psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			p.add(where, "pod securityContext.seccompProfile.type must be RuntimeDefault")
		}
	}
	containers := append(slices.Clone(spec.InitContainers), spec.Containers...)
	for _, c := range containers {
		checkContainer(c, where+" container "+c.Name, p)
	}
	for _, v := range spec.Volumes {
		if v.ConfigMap != nil && !isTrue(v.ConfigMap.Optional) {
			checkConfigMapRef(o, v.ConfigMap, where, p)
		}
	}
}

func isTrue(b *bool) bool { return b != nil && *b }

func hasServiceAccount(o *Objects, name string) bool {
	return slices.ContainsFunc(o.ServiceAccounts, func(sa *corev1.ServiceAccount) bool { return sa.Name == name })
}

// checkContainer checks one container's securityContext, probes, resources, image and env.
func checkContainer(c corev1.Container, where string, p *problems) {
	sc := c.SecurityContext
	if sc == nil {
		p.add(where, "securityContext is missing")
	} else {
		if !isTrue(sc.RunAsNonRoot) {
			p.add(where, "securityContext.runAsNonRoot must be true")
		}
		if sc.RunAsUser == nil || *sc.RunAsUser != uid {
			p.add(where, "securityContext.runAsUser must be %d", uid)
		}
		if !isTrue(sc.ReadOnlyRootFilesystem) {
			p.add(where, "securityContext.readOnlyRootFilesystem must be true")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			p.add(where, "securityContext.allowPrivilegeEscalation must be false")
		}
		if isTrue(sc.Privileged) {
			p.add(where, "securityContext.privileged must not be true")
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			p.add(where, "securityContext.capabilities.drop must hold ALL")
		} else if len(sc.Capabilities.Add) > 0 {
			p.add(where, "securityContext.capabilities.add must be empty, not %v", sc.Capabilities.Add)
		}
		if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			p.add(where, "securityContext.seccompProfile.type must be RuntimeDefault")
		}
	}
	if c.LivenessProbe == nil {
		p.add(where, "livenessProbe is missing")
	}
	if c.ReadinessProbe == nil {
		p.add(where, "readinessProbe is missing")
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		p.add(where, "resources.requests must give cpu and memory")
	}
	if c.Resources.Limits.Memory().IsZero() {
		p.add(where, "resources.limits.memory must be set")
	}
	if i := strings.LastIndex(c.Image, ":"); i < 0 || i == len(c.Image)-1 || strings.Contains(c.Image[i:], "/") {
		p.add(where, "image %q has no tag", c.Image)
	} else if c.Image[i+1:] == "latest" {
		p.add(where, "image %q: pin a version, not latest", c.Image)
	}
	seen := map[string]bool{}
	for _, e := range c.Env {
		for _, msg := range validation.IsEnvVarName(e.Name) {
			p.add(where, "env %q: %s", e.Name, msg)
		}
		if seen[e.Name] {
			p.add(where, "env %s is set twice (the last one wins)", e.Name)
		}
		seen[e.Name] = true
	}
}
