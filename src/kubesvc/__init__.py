"""kubesvc: Kubernetes Service networking, written in Python, that runs for real."""

__version__ = "0.1.0"
