"""A pod's network and identity: the sandbox seam (``base``), netns and loopback implementations."""
