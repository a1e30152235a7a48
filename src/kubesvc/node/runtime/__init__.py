"""Containers as processes: the runtime seam (``base``) and its process implementation."""
