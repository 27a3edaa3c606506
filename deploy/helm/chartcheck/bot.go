package main

import (
	"regexp"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

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
