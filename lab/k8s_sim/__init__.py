"""A Kubernetes API simulator for the lab: the REST subset kubectl, the kubernetes client and
kubernetes.core use, with deployment/replicaset/statefulset/daemonset/HPA controllers, a
simulated kubelet driven by a lab image registry, generated logs and metrics.k8s.io."""
