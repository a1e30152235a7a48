"""Container logs: written raw by the container, stamped by the agent, read like kubelet's.

A container's stdout and stderr go straight to ``PodDir.log(name, attempt)``
(the runtime opens the file; no pipe through the agent, so a restarted agent
loses nothing). Lines carry no timestamps, so the agent keeps a small index
beside each live log (``index``: ``<offset> <unix-ns>`` lines, "the bytes up to
this offset had arrived by this time"), which is how ``timestamps``,
``sinceSeconds`` and ``sinceTime`` get their answers (``read``) at the
indexer's resolution (0.2 s by default).
"""
