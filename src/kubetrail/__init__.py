"""kubetrail: Kubernetes security observability that joins audit, runtime, network and trace signals."""

__version__ = "0.1.0"
