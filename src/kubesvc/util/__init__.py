"""Small helpers shared by every component: time (``clock``), back-off, task plumbing."""
