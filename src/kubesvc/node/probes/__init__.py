"""Container probes, as kubelet runs them: startup, liveness and readiness.

* ``spec``: a probe (or lifecycle handler) dict read into a frozen ``ProbeSpec``
  (pure; named ports resolved against the container's ports).
* ``state``: the threshold state machine (pure): a reported result flips only
  after ``successThreshold`` / ``failureThreshold`` consecutive equal results.
* ``check``: the runners (httpGet, tcpSocket, exec; gRPC answers "unsupported")
  and the Unhealthy/ProbeWarning event text of each outcome.
* ``manager``: ``ProbeManager``, one per pod, with one worker task per probe of
  each running container; it reports ``ready``/``started`` changes and asks the
  pod worker to restart a container whose liveness or startup probe failed.

The manager never stops or starts containers itself and never talks to the API:
it calls back (``on_change``, ``on_kill``, ``on_event``) and the pod worker acts.
"""
