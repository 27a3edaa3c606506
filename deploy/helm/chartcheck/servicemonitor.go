package main

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ServiceMonitor is the Prometheus Operator's monitoring.coreos.com/v1
// ServiceMonitor, cut down to the fields the chart renders. Decoding is
// strict, so a field the chart starts rendering must be added here, checked
// against https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.ServiceMonitor;
// that keeps the Prometheus Operator's large module out of this one.
type ServiceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ServiceMonitorSpec `json:"spec"`
}

// ServiceMonitorSpec is the part of monitoring.coreos.com/v1 ServiceMonitorSpec the chart renders.
type ServiceMonitorSpec struct {
	NamespaceSelector *NamespaceSelector   `json:"namespaceSelector,omitempty"`
	Selector          metav1.LabelSelector `json:"selector"`
	Endpoints         []Endpoint           `json:"endpoints"`
}

// NamespaceSelector is monitoring.coreos.com/v1 NamespaceSelector.
type NamespaceSelector struct {
	Any        bool     `json:"any,omitempty"`
	MatchNames []string `json:"matchNames,omitempty"`
}

// Endpoint is the part of monitoring.coreos.com/v1 Endpoint the chart renders.
type Endpoint struct {
	Port          string `json:"port,omitempty"`
	Path          string `json:"path,omitempty"`
	Scheme        string `json:"scheme,omitempty"`
	Interval      string `json:"interval,omitempty"`
	ScrapeTimeout string `json:"scrapeTimeout,omitempty"`
}
