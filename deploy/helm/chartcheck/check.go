package main

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
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

// checkBot checks the bot's own contract: ports and probe paths, the
// pipelines file mounted where RELEASE_BOT_CONFIG says, the config checksum
// that rolls the pods, a grace period longer than the drain, Redis given,
// and a PodDisruptionBudget when there is more than one replica.
func checkBot(o *Objects, d *appsv1.Deployment, where string, p *problems) {
	c := botContainer(d)
	spec := d.Spec.Template.Spec
	if !slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool { return cp.Name == "http" && cp.ContainerPort == 8080 }) {
		p.add(where, "the bot container must expose port 8080 named http")
	}
	checkHTTPProbe(c.LivenessProbe, "livenessProbe", "/healthz", where, p)
	checkHTTPProbe(c.ReadinessProbe, "readinessProbe", "/readyz", where, p)

	if sum := d.Spec.Template.Annotations["checksum/config"]; !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(sum) {
		p.add(where, "pod annotation checksum/config must be the sha256 of the ConfigMap, so that a change to the pipelines rolls the pods (got %q)", sum)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if e := env["RELEASE_BOT_CONFIG"]; e.Value != configPath {
		p.add(where, "RELEASE_BOT_CONFIG must be %s, got %q", configPath, e.Value)
	} else {
		checkConfigMounted(o, spec, c, where, p)
	}
	for _, name := range []string{"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "KOSLI_API_TOKEN"} {
		if e, ok := env[name]; !ok || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			p.add(where, "%s must come from a Secret", name)
		}
	}
	if e := env["KOSLI_ORG"]; e.Value == "" {
		p.add(where, "KOSLI_ORG must be set")
	}
	if _, ok := env["REDIS_URL"]; !ok {
		p.add(where, "REDIS_URL must be set: without it each replica keeps its own state")
	}

	drain := defaultDrain
	for i, a := range c.Args {
		v, ok := strings.CutPrefix(a, "--drain=")
		if !ok && a == "--drain" && i+1 < len(c.Args) {
			v, ok = c.Args[i+1], true
		}
		if ok {
			var err error
			if drain, err = time.ParseDuration(v); err != nil {
				p.add(where, "--drain %q: %v", v, err)
			}
		}
	}
	if g := spec.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second < drain+graceOverDrain {
		p.add(where, "terminationGracePeriodSeconds must be at least the drain (%s) + %s", drain, graceOverDrain)
	}

	replicas := int32(1)
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	if replicas > 1 {
		checkPDB(o, d, replicas, where, p)
	}
	if s := d.Spec.Strategy.RollingUpdate; s != nil && s.MaxUnavailable != nil && s.MaxUnavailable.IntValue() != 0 {
		p.add(where, "rollingUpdate.maxUnavailable should be 0: a pod should stop only once its replacement holds a connection")
	}
}

func checkHTTPProbe(pr *corev1.Probe, name, path, where string, p *problems) {
	if pr == nil {
		return // reported by checkContainer
	}
	if pr.HTTPGet == nil || pr.HTTPGet.Path != path || (pr.HTTPGet.Port != intstr.FromString("http") && pr.HTTPGet.Port != intstr.FromInt32(8080)) {
		p.add(where, "%s must GET %s on port http", name, path)
	}
}

// checkConfigMounted follows RELEASE_BOT_CONFIG to a read-only mount of a
// rendered ConfigMap holding the pipelines file, and returns the file.
func checkConfigMounted(o *Objects, spec corev1.PodSpec, c *corev1.Container, where string, p *problems) string {
	for _, m := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(configPath, strings.TrimSuffix(m.MountPath, "/")+"/")
		if m.MountPath == configPath {
			rel, ok = m.SubPath, m.SubPath != ""
		}
		if !ok {
			continue
		}
		if !m.ReadOnly {
			p.add(where, "the pipelines file's mount %s must be readOnly", m.MountPath)
		}
		i := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
		if i < 0 || spec.Volumes[i].ConfigMap == nil {
			p.add(where, "volume %q mounted at %s must be a ConfigMap", m.Name, m.MountPath)
			return ""
		}
		key := rel
		for _, it := range spec.Volumes[i].ConfigMap.Items {
			if it.Path == rel {
				key = it.Key
			}
		}
		cm := findConfigMap(o, spec.Volumes[i].ConfigMap.Name)
		if cm == nil {
			return "" // reported by checkConfigMapRef
		}
		if strings.TrimSpace(cm.Data[key]) == "" {
			p.add(where, "ConfigMap/%s has no %s for %s", cm.Name, key, configPath)
		}
		return cm.Data[key]
	}
	p.add(where, "nothing is mounted at %s", configPath)
	return ""
}

// Pipelines returns the pipelines file the bot would read, as rendered
// ("" when there is none; Check says why).
func Pipelines(o *Objects) string {
	for _, d := range o.Deployments {
		if c := botContainer(d); c != nil {
			var ignored problems
			return checkConfigMounted(o, d.Spec.Template.Spec, c, "", &ignored)
		}
	}
	return ""
}

func findConfigMap(o *Objects, name string) *corev1.ConfigMap {
	for _, cm := range o.ConfigMaps {
		if cm.Name == name {
			return cm
		}
	}
	return nil
}

func checkConfigMapRef(o *Objects, v *corev1.ConfigMapVolumeSource, where string, p *problems) {
	cm := findConfigMap(o, v.Name)
	if cm == nil {
		p.add(where, "ConfigMap/%s is mounted but not rendered", v.Name)
		return
	}
	for _, it := range v.Items {
		if _, ok := cm.Data[it.Key]; !ok {
			p.add(where, "ConfigMap/%s has no key %s", v.Name, it.Key)
		}
	}
}

// checkPDB looks for a PodDisruptionBudget covering the bot's pods that
// lets a node drain proceed while keeping at least one pod.
func checkPDB(o *Objects, d *appsv1.Deployment, replicas int32, where string, p *problems) {
	for _, pdb := range o.PDBs {
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			continue
		}
		if m := pdb.Spec.MinAvailable; m != nil && m.Type == intstr.Int && (m.IntVal < 1 || m.IntVal >= replicas) {
			p.add("PodDisruptionBudget/"+pdb.Name, "minAvailable %d must be between 1 and replicas-1 (%d), or no node can ever be drained", m.IntVal, replicas-1)
		}
		if pdb.Spec.MinAvailable == nil && pdb.Spec.MaxUnavailable == nil {
			p.add("PodDisruptionBudget/"+pdb.Name, "gives neither minAvailable nor maxUnavailable")
		}
		return
	}
	p.add(where, "%d replicas but no PodDisruptionBudget selects its pods", replicas)
}

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
