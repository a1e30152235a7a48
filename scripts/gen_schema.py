"""Generate ``src/kubesvc/api/schema/schema.json`` from the official Python client.

Why this exists: the API server needs the structure of every kind it serves
(field names, types, which fields are required, and the patch metadata that
strategic merge patch and server-side apply use). Those facts come from three
places, all at Kubernetes 1.32:

* the model tables of ``kubernetes==32.0.1`` (``openapi_types`` and
  ``attribute_map`` of each ``kubernetes.client.models`` class; required fields
  are the setters that refuse ``None``), walked from the served kinds;
* the tables below, which restore what the client's models lose: integer
  widths, which ``object``/``str``/``dict`` fields are really IntOrString,
  Quantity, bytes or MicroTime, the patch strategies, merge keys and list types
  of the API types' struct tags, and the descriptions;
* ``scripts/proto_fields.txt``: each field's protobuf number (and the Go facts
  protobuf decoding needs: pointer, omitempty, inline embedding), checked here
  against the types above.

Descriptions are our own words: a short curated sentence for the kinds and
fields users look up most, and a plain one generated from the field's name and
type for the rest. Nothing here copies upstream prose.

Usage::

    python scripts/gen_schema.py            # rewrite schema.json
    python scripts/gen_schema.py --check    # exit 1 if schema.json is stale

The output is deterministic (sorted), one definition per line.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from collections import deque
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "kubesvc" / "api" / "schema" / "schema.json"
PROTO_FIELDS = ROOT / "scripts" / "proto_fields.txt"
CLIENT_VERSION = "32.0.1"

sys.path.insert(0, str(ROOT / "src"))

# --------------------------------------------------------------------------------------------
# Names: python model class -> upstream OpenAPI definition name.

PACKAGES = {
    "core": "io.k8s.api.core.v1",
    "apps": "io.k8s.api.apps.v1",
    "discovery": "io.k8s.api.discovery.v1",
    "networking": "io.k8s.api.networking.v1",
    "coordination": "io.k8s.api.coordination.v1",
    "autoscaling": "io.k8s.api.autoscaling.v1",
    "meta": "io.k8s.apimachinery.pkg.apis.meta.v1",
}
# Go package of each API group, for the group/version part of kinds.
GROUP_PACKAGE = {
    "": "core",
    "apps": "apps",
    "discovery.k8s.io": "discovery",
    "networking.k8s.io": "networking",
    "coordination.k8s.io": "coordination",
    "autoscaling": "autoscaling",
}
# The client prefixes a few classes with their group to tell same-named types apart.
CLASS_PREFIXES = {"CoreV1": "core", "DiscoveryV1": "discovery"}
# Every ``V1<Name>`` class that is not in core/v1.
NON_CORE = {
    "apps": """DaemonSet DaemonSetCondition DaemonSetList DaemonSetSpec DaemonSetStatus
        DaemonSetUpdateStrategy Deployment DeploymentCondition DeploymentList DeploymentSpec
        DeploymentStatus DeploymentStrategy ReplicaSet ReplicaSetCondition ReplicaSetList
        ReplicaSetSpec ReplicaSetStatus RollingUpdateDaemonSet RollingUpdateDeployment""",
    "discovery": """EndpointSlice EndpointSliceList Endpoint EndpointConditions EndpointHints
        ForZone""",
    "networking": """HTTPIngressPath HTTPIngressRuleValue Ingress IngressBackend IngressClass
        IngressClassList IngressClassParametersReference IngressClassSpec IngressList
        IngressLoadBalancerIngress IngressLoadBalancerStatus IngressPortStatus IngressRule
        IngressServiceBackend IngressSpec IngressStatus IngressTLS ServiceBackendPort""",
    "coordination": "Lease LeaseList LeaseSpec",
    "autoscaling": "Scale ScaleSpec ScaleStatus",
    "meta": """Condition DeleteOptions LabelSelector LabelSelectorRequirement ListMeta
        ManagedFieldsEntry ObjectMeta OwnerReference Preconditions Status StatusCause
        StatusDetails""",
}
_NON_CORE_BY_NAME = {name: pkg for pkg, names in NON_CORE.items() for name in names.split()}

# Kinds that are not in the resources table but travel through the API.
EXTRA_KINDS: tuple[tuple[str, str, str], ...] = (
    ("", "v1", "Status"),
    ("", "v1", "DeleteOptions"),
    ("", "v1", "Binding"),
    ("autoscaling", "v1", "Scale"),
)
# Meta types with no kind of their own that are walked too.
EXTRA_TYPES = ("V1ObjectMeta", "V1ListMeta")


def definition_name(cls_name: str) -> str:
    for prefix, pkg in CLASS_PREFIXES.items():
        if cls_name.startswith(prefix):
            return f"{PACKAGES[pkg]}.{cls_name[len(prefix) :]}"
    if not cls_name.startswith("V1"):
        raise SystemExit(f"unexpected model class {cls_name}")
    short = cls_name[2:]
    return f"{PACKAGES[_NON_CORE_BY_NAME.get(short, 'core')]}.{short}"


def class_for_kind(group: str, kind: str) -> str:
    if group == "" and kind in ("Event", "EventList"):
        return "CoreV1" + kind
    return "V1" + kind


def short(name: str) -> str:
    return name.rsplit(".", 1)[1]


def _names(text: str) -> set[str]:
    return set(text.split())


# --------------------------------------------------------------------------------------------
# Types the client models flatten. Keys are "<Definition short name>.<json field>".

INT64 = _names(
    """ObjectMeta.generation ObjectMeta.deletionGracePeriodSeconds ListMeta.remainingItemCount
    DeleteOptions.gracePeriodSeconds Condition.observedGeneration ContainerImage.sizeBytes
    DaemonSetStatus.observedGeneration DeploymentStatus.observedGeneration
    ReplicaSetStatus.observedGeneration ReplicationControllerStatus.observedGeneration
    LinuxContainerUser.uid LinuxContainerUser.gid LinuxContainerUser.supplementalGroups
    PodSecurityContext.fsGroup PodSecurityContext.runAsGroup PodSecurityContext.runAsUser
    PodSecurityContext.supplementalGroups SecurityContext.runAsGroup SecurityContext.runAsUser
    PodSpec.activeDeadlineSeconds PodSpec.terminationGracePeriodSeconds
    Probe.terminationGracePeriodSeconds ServiceAccountTokenProjection.expirationSeconds
    SleepAction.seconds Toleration.tolerationSeconds"""
)
INT_OR_STRING = _names(
    """HTTPGetAction.port TCPSocketAction.port ServicePort.targetPort
    RollingUpdateDaemonSet.maxSurge RollingUpdateDaemonSet.maxUnavailable
    RollingUpdateDeployment.maxSurge RollingUpdateDeployment.maxUnavailable"""
)
QUANTITY = _names(
    """EmptyDirVolumeSource.sizeLimit ResourceFieldSelector.divisor
    ContainerStatus.allocatedResources NodeStatus.allocatable NodeStatus.capacity PodSpec.overhead
    ResourceRequirements.limits ResourceRequirements.requests
    VolumeResourceRequirements.limits VolumeResourceRequirements.requests"""
)
BYTES = {"ConfigMap.binaryData", "Secret.data"}
FREE_FORM = {"ManagedFieldsEntry.fieldsV1"}
MICRO_TIME = {
    "Event.eventTime",
    "EventSeries.lastObservedTime",
    "LeaseSpec.acquireTime",
    "LeaseSpec.renewTime",
}

# --------------------------------------------------------------------------------------------
# Patch metadata from the Kubernetes 1.32 API types' struct tags and list/map markers:
# (patchStrategy, patchMergeKey, listType, listMapKeys). Lists not named here are atomic.

_M = "merge"
PATCH: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "ObjectMeta.finalizers": (_M, "", "set", ()),
    "ObjectMeta.ownerReferences": (_M, "uid", "map", ("uid",)),
    "PodSpec.volumes": ("merge,retainKeys", "name", "map", ("name",)),
    "PodSpec.initContainers": (_M, "name", "map", ("name",)),
    "PodSpec.containers": (_M, "name", "map", ("name",)),
    "PodSpec.ephemeralContainers": (_M, "name", "map", ("name",)),
    "PodSpec.imagePullSecrets": (_M, "name", "map", ("name",)),
    "PodSpec.hostAliases": (_M, "ip", "map", ("ip",)),
    "PodSpec.topologySpreadConstraints": (
        _M,
        "topologyKey",
        "map",
        ("topologyKey", "whenUnsatisfiable"),
    ),
    "PodSpec.resourceClaims": ("merge,retainKeys", "name", "map", ("name",)),
    "PodSpec.schedulingGates": (_M, "name", "map", ("name",)),
    "Container.ports": (_M, "containerPort", "map", ("containerPort", "protocol")),
    "Container.env": (_M, "name", "map", ("name",)),
    "Container.volumeMounts": (_M, "mountPath", "map", ("mountPath",)),
    "Container.volumeDevices": (_M, "devicePath", "map", ("devicePath",)),
    "EphemeralContainer.ports": (_M, "containerPort", "map", ("containerPort", "protocol")),
    "EphemeralContainer.env": (_M, "name", "map", ("name",)),
    "EphemeralContainer.volumeMounts": (_M, "mountPath", "map", ("mountPath",)),
    "EphemeralContainer.volumeDevices": (_M, "devicePath", "map", ("devicePath",)),
    "ResourceRequirements.claims": ("", "", "map", ("name",)),
    "PodStatus.conditions": (_M, "type", "map", ("type",)),
    "PodStatus.podIPs": (_M, "ip", "map", ("ip",)),
    "PodStatus.hostIPs": (_M, "ip", "atomic", ()),
    "PodStatus.resourceClaimStatuses": ("merge,retainKeys", "name", "map", ("name",)),
    "ContainerStatus.volumeMounts": (_M, "mountPath", "map", ("mountPath",)),
    "ContainerStatus.allocatedResourcesStatus": (_M, "name", "map", ("name",)),
    "ResourceStatus.resources": ("", "", "map", ("resourceID",)),
    "ServiceSpec.ports": (_M, "port", "map", ("port", "protocol")),
    "ServiceStatus.conditions": (_M, "type", "map", ("type",)),
    "NodeSpec.podCIDRs": (_M, "", "set", ()),
    "NodeStatus.conditions": (_M, "type", "map", ("type",)),
    "NodeStatus.addresses": (_M, "type", "map", ("type",)),
    "NamespaceStatus.conditions": (_M, "type", "map", ("type",)),
    "ReplicationControllerStatus.conditions": (_M, "type", "map", ("type",)),
    "ServiceAccount.secrets": (_M, "name", "map", ("name",)),
    "DeploymentSpec.strategy": ("retainKeys", "", "", ()),
    "DeploymentStatus.conditions": (_M, "type", "map", ("type",)),
    "ReplicaSetStatus.conditions": (_M, "type", "map", ("type",)),
    "DaemonSetStatus.conditions": (_M, "type", "map", ("type",)),
    "Endpoint.addresses": ("", "", "set", ()),
}
# Maps replaced as a whole by apply (``+mapType=atomic``).
ATOMIC_MAPS = {"ServiceSpec.selector", "ReplicationControllerSpec.selector", "PodSpec.nodeSelector"}
# Structs replaced as a whole by apply (``+structType=atomic``).
ATOMIC_STRUCTS = _names(
    """LabelSelector OwnerReference ObjectReference LocalObjectReference
    TypedLocalObjectReference ConfigMapKeySelector SecretKeySelector ObjectFieldSelector
    ResourceFieldSelector NodeSelector NodeSelectorTerm"""
)

# --------------------------------------------------------------------------------------------
# Descriptions (our own words). Keys: definition short name, "<short>.<field>", or a full
# definition name (with ".<field>") where the short name is ambiguous.

KIND_FIELDS = {
    "apiVersion": "Versioned schema of this object, such as v1 or apps/v1.",
    "kind": "Type of this object, in CamelCase.",
    "metadata": "Standard object metadata: name, namespace, labels, annotations and more.",
}

DESCRIPTIONS: dict[str, str] = {
    # kinds
    "Service": "A stable virtual address and DNS name that spreads traffic over the pods "
    "its selector matches (or over hand-written endpoints).",
    "Pod": "The smallest deployable unit: one or more containers that share a network "
    "identity and volumes and are scheduled together.",
    "Deployment": "Keeps a number of identical pods running and rolls out changes to their "
    "template through ReplicaSets.",
    "ReplicaSet": "Keeps a given number of pods matching its selector running.",
    "DaemonSet": "Runs one copy of a pod on every (selected) node.",
    "ReplicationController": "The original replica manager: keeps a number of pods matching "
    "its selector running.",
    "Endpoints": "The network addresses behind a Service, grouped into subsets of addresses "
    "that share the same ports.",
    "EndpointSlice": "A slice of the endpoints behind a Service; a Service may have several, "
    "labelled kubernetes.io/service-name.",
    "Ingress": "Rules that route external HTTP(S) traffic by host and path to Services.",
    "IngressClass": "Names an ingress controller that implements Ingress objects of this class.",
    "ConfigMap": "Non-secret configuration data as key/value pairs for pods to consume.",
    "Secret": "Sensitive data such as passwords, tokens or TLS keys, stored base64-encoded.",
    "ServiceAccount": "An identity for processes that run in pods.",
    "Namespace": "A scope for names; most objects live in exactly one namespace.",
    "Node": "A machine (real or virtual) that runs pods.",
    "Event": "A report of something that happened to an object, kept for a limited time.",
    "Lease": "A lightweight lock with a holder and a renewal time, used for leader election "
    "and node heartbeats.",
    "Binding": "Ties a pod to a node; posting one schedules the pod.",
    "Scale": "The replica count of a scalable resource, as the scale subresource serves it.",
    "Status": "The result of an operation that does not return an object, such as an error.",
    "DeleteOptions": "Options for a delete request: grace period, preconditions and how "
    "dependents are handled.",
    "ObjectMeta": "Metadata every persisted object has: identity, labels, annotations, "
    "ownership and bookkeeping set by the server.",
    "ListMeta": "Metadata of a list response: its resource version and paging token.",
    "LabelSelector": "Selects objects by their labels: every matchLabels pair and every "
    "matchExpressions requirement must hold.",
    "LabelSelectorRequirement": "One label selector condition: a key, an operator and values.",
    "OwnerReference": "Points at the object that owns this one; owned objects are garbage "
    "collected after their owner.",
    # Service
    "ServiceSpec": "What the user asks of a Service: its type, ports, selector and addressing.",
    "ServiceSpec.type": "How the Service is exposed: ClusterIP (default), NodePort, "
    "LoadBalancer or ExternalName.",
    "ServiceSpec.ports": "The ports this Service exposes.",
    "ServiceSpec.selector": "Pods with all of these labels receive the Service's traffic; "
    "without a selector, endpoints are managed by hand.",
    "ServiceSpec.clusterIP": "The virtual IP of the Service; allocated when empty, "
    '"None" makes the Service headless.',
    "ServiceSpec.clusterIPs": "The virtual IPs of the Service, one per IP family; the first "
    "equals clusterIP.",
    "ServiceSpec.externalIPs": "Extra IPs, not managed by the cluster, on which nodes also "
    "accept traffic for this Service.",
    "ServiceSpec.externalName": "DNS name the Service aliases (CNAME) when type is ExternalName.",
    "ServiceSpec.externalTrafficPolicy": "Whether external traffic may go to endpoints on any "
    "node (Cluster) or only on the receiving node (Local).",
    "ServiceSpec.internalTrafficPolicy": "Whether traffic from inside the cluster may go to "
    "any endpoint (Cluster) or only to endpoints on the same node (Local).",
    "ServiceSpec.healthCheckNodePort": "Node port answering health checks for LoadBalancer "
    "Services with the Local external traffic policy.",
    "ServiceSpec.loadBalancerIP": "Requested load-balancer IP, if the implementation "
    "supports choosing one (deprecated).",
    "ServiceSpec.loadBalancerSourceRanges": "Client CIDRs allowed through the load balancer.",
    "ServiceSpec.loadBalancerClass": "Which load-balancer implementation handles this Service.",
    "ServiceSpec.sessionAffinity": "ClientIP sends each client to the same endpoint; None "
    "(default) balances every connection.",
    "ServiceSpec.sessionAffinityConfig": "Settings of session affinity, such as its timeout.",
    "ServiceSpec.ipFamilies": "IP families (IPv4, IPv6) of the Service's cluster IPs, in order.",
    "ServiceSpec.ipFamilyPolicy": "SingleStack, PreferDualStack or RequireDualStack.",
    "ServiceSpec.publishNotReadyAddresses": "Publish endpoints of pods that are not ready "
    "yet (useful for peer discovery).",
    "ServiceSpec.allocateLoadBalancerNodePorts": "Whether a LoadBalancer Service gets node "
    "ports allocated (default true).",
    "ServiceSpec.trafficDistribution": "A preference for how traffic is spread over "
    "endpoints, such as PreferClose.",
    "ServicePort": "One port a Service exposes and where its traffic goes.",
    "ServicePort.name": "Name of the port; required when a Service has more than one port, "
    "and used in endpoints and SRV records.",
    "ServicePort.protocol": "TCP (default), UDP or SCTP.",
    "ServicePort.port": "Port the Service listens on at its cluster IP.",
    "ServicePort.targetPort": "Port (number or container port name) on the pods that traffic "
    "is sent to; defaults to port.",
    "ServicePort.nodePort": "Port opened on every node for NodePort and LoadBalancer "
    "Services; allocated when zero.",
    "ServicePort.appProtocol": "Application protocol hint for this port, such as http or h2c.",
    "ServiceStatus": "What the cluster reports about a Service, such as load-balancer addresses.",
    "ServiceStatus.loadBalancer": "Addresses of the load balancer, if one was provisioned.",
    "ServiceStatus.conditions": "Current conditions of the Service.",
    "LoadBalancerStatus": "The ingress points of a load balancer.",
    "LoadBalancerStatus.ingress": "Addresses on which the load balancer accepts traffic.",
    "LoadBalancerIngress": "One address of a load balancer.",
    "LoadBalancerIngress.ip": "IP of the load-balancer ingress point.",
    "LoadBalancerIngress.hostname": "DNS name of the load-balancer ingress point.",
    "LoadBalancerIngress.ipMode": "VIP (traffic arrives with the load-balancer IP as "
    "destination) or Proxy.",
    "SessionAffinityConfig": "Settings of session affinity.",
    "ClientIPConfig": "Settings of ClientIP session affinity.",
    "ClientIPConfig.timeoutSeconds": "How long a client sticks to an endpoint (default 10800).",
    # Endpoints
    "Endpoints.subsets": "Groups of addresses that share the same ports.",
    "EndpointSubset": "Addresses that all serve the same set of ports.",
    "EndpointSubset.addresses": "Addresses that are ready to receive traffic.",
    "EndpointSubset.notReadyAddresses": "Addresses that exist but are not ready yet.",
    "EndpointSubset.ports": "Ports every address of this subset serves.",
    "EndpointAddress": "One endpoint address.",
    "EndpointAddress.ip": "IP of the endpoint.",
    "EndpointAddress.hostname": "Hostname of the endpoint.",
    "EndpointAddress.nodeName": "Node that hosts the endpoint.",
    "EndpointAddress.targetRef": "Object (usually a Pod) that provides the endpoint.",
    "io.k8s.api.core.v1.EndpointPort": "One port of an endpoint subset.",
    "io.k8s.api.core.v1.EndpointPort.name": "Name of the port; matches the Service port name.",
    "io.k8s.api.core.v1.EndpointPort.port": "Port number.",
    "io.k8s.api.core.v1.EndpointPort.protocol": "TCP (default), UDP or SCTP.",
    "io.k8s.api.core.v1.EndpointPort.appProtocol": "Application protocol of this port.",
    # EndpointSlice
    "EndpointSlice.addressType": "Type of the addresses in this slice: IPv4, IPv6 or FQDN.",
    "EndpointSlice.endpoints": "The endpoints of this slice.",
    "EndpointSlice.ports": "Ports every endpoint of this slice serves.",
    "Endpoint": "One backend in an EndpointSlice.",
    "Endpoint.addresses": "Addresses of this endpoint, of the slice's address type.",
    "Endpoint.conditions": "Whether this endpoint is ready, serving or terminating.",
    "Endpoint.hostname": "Hostname of this endpoint.",
    "Endpoint.nodeName": "Node that hosts this endpoint.",
    "Endpoint.targetRef": "Object (usually a Pod) behind this endpoint.",
    "Endpoint.zone": "Zone this endpoint is in.",
    "Endpoint.hints": "Hints for topology-aware routing.",
    "EndpointConditions": "State of an endpoint.",
    "EndpointConditions.ready": "The endpoint is ready for traffic.",
    "EndpointConditions.serving": "The endpoint can serve traffic, even while terminating.",
    "EndpointConditions.terminating": "The endpoint is shutting down.",
    "io.k8s.api.discovery.v1.EndpointPort": "One port of an EndpointSlice.",
    "io.k8s.api.discovery.v1.EndpointPort.name": "Name of the port; matches the Service "
    "port name (empty for an unnamed port).",
    "io.k8s.api.discovery.v1.EndpointPort.port": "Port number.",
    "io.k8s.api.discovery.v1.EndpointPort.protocol": "TCP (default), UDP or SCTP.",
    "io.k8s.api.discovery.v1.EndpointPort.appProtocol": "Application protocol of this port.",
    # Ingress
    "IngressSpec": "How an Ingress routes traffic: rules, TLS and a default backend.",
    "IngressSpec.ingressClassName": "Name of the IngressClass whose controller implements "
    "this Ingress.",
    "IngressSpec.defaultBackend": "Backend for requests that match no rule.",
    "IngressSpec.tls": "TLS termination: which hosts use which certificate Secret.",
    "IngressSpec.rules": "Host rules; each maps paths under a host to backends.",
    "IngressRule": "Routes requests for one host (or every host) by path.",
    "IngressRule.host": "Host name to match, optionally with a leading wildcard label; "
    "empty matches every host.",
    "IngressRule.http": "Path rules for HTTP requests to this host.",
    "HTTPIngressRuleValue": "The HTTP paths of an ingress rule.",
    "HTTPIngressRuleValue.paths": "Paths and the backends they route to.",
    "HTTPIngressPath": "Maps a request path to a backend.",
    "HTTPIngressPath.path": "Path to match; must start with /.",
    "HTTPIngressPath.pathType": "How path matches: Exact, Prefix (by path element) or "
    "ImplementationSpecific.",
    "HTTPIngressPath.backend": "Where matching requests are sent.",
    "IngressBackend": "A destination for ingress traffic: a Service port or another resource.",
    "IngressBackend.service": "Service and port that receive the traffic.",
    "IngressBackend.resource": "Another object that receives the traffic, instead of a Service.",
    "IngressServiceBackend": "A Service and one of its ports.",
    "IngressServiceBackend.name": "Name of the Service, in the Ingress's namespace.",
    "IngressServiceBackend.port": "Port of the Service, by number or by name.",
    "ServiceBackendPort": "A Service port, by number or by name.",
    "ServiceBackendPort.name": "Name of the Service port.",
    "ServiceBackendPort.number": "Number of the Service port.",
    "IngressTLS": "TLS settings for a set of hosts.",
    "IngressTLS.hosts": "Hosts covered by the certificate.",
    "IngressTLS.secretName": "Secret holding the certificate and key (tls.crt, tls.key).",
    "IngressStatus": "What the controller reports about an Ingress.",
    "IngressStatus.loadBalancer": "Addresses on which the Ingress is reachable.",
    "IngressClassSpec": "Which controller implements an IngressClass, with its parameters.",
    "IngressClassSpec.controller": "Name of the controller, such as example.com/ingress.",
    "IngressClassSpec.parameters": "Object holding extra configuration for the controller.",
    # Pod
    "PodSpec": "What a pod runs and how: containers, volumes, scheduling and networking.",
    "PodSpec.containers": "Containers of the pod; at least one.",
    "PodSpec.initContainers": "Containers that run to completion, in order, before the "
    "others start.",
    "PodSpec.ephemeralContainers": "Containers added to a running pod for debugging.",
    "PodSpec.volumes": "Volumes the containers can mount.",
    "PodSpec.restartPolicy": "Always (default), OnFailure or Never.",
    "PodSpec.nodeName": "Node the pod is bound to; set by the scheduler when empty.",
    "PodSpec.nodeSelector": "Labels a node must have for the pod to be scheduled there.",
    "PodSpec.serviceAccountName": "Service account the pod runs as.",
    "PodSpec.hostNetwork": "Use the node's network namespace instead of a pod network.",
    "PodSpec.dnsPolicy": "How the pod's DNS is set up: ClusterFirst (default), Default, "
    "ClusterFirstWithHostNet or None.",
    "PodSpec.dnsConfig": "Extra DNS settings merged into the generated resolv.conf.",
    "PodSpec.hostname": "Hostname of the pod; defaults to the pod name.",
    "PodSpec.subdomain": "With a headless Service of this name, gives the pod the DNS name "
    "<hostname>.<subdomain>.<namespace>.svc.",
    "PodSpec.terminationGracePeriodSeconds": "Seconds between the stop signal and the kill "
    "on deletion.",
    "PodSpec.affinity": "Scheduling affinity and anti-affinity rules.",
    "PodSpec.tolerations": "Taints this pod tolerates.",
    "PodSpec.imagePullSecrets": "Secrets used to pull the container images.",
    "PodSpec.securityContext": "Security settings for every container of the pod.",
    "PodSpec.hostAliases": "Extra entries for the pod's /etc/hosts.",
    "PodSpec.priorityClassName": "Priority class of the pod.",
    "Container": "One container of a pod: its image, command, ports, environment and probes.",
    "Container.name": "Name of the container, unique in the pod.",
    "Container.image": "Container image to run.",
    "Container.command": "Entrypoint; replaces the image's ENTRYPOINT.",
    "Container.args": "Arguments; replace the image's CMD.",
    "Container.workingDir": "Working directory of the process.",
    "Container.ports": "Ports the container listens on; informational, except for hostPort "
    "and named ports.",
    "Container.env": "Environment variables.",
    "Container.envFrom": "Sources (ConfigMaps, Secrets) to import environment variables from.",
    "Container.resources": "Compute resources requested and limited.",
    "Container.volumeMounts": "Volumes mounted into the container.",
    "Container.livenessProbe": "Restarts the container when this check fails.",
    "Container.readinessProbe": "Keeps the pod out of Service endpoints while this check fails.",
    "Container.startupProbe": "Holds the other probes until this check succeeds once.",
    "Container.imagePullPolicy": "Always, IfNotPresent or Never.",
    "Container.securityContext": "Security settings of this container.",
    "Container.lifecycle": "Actions run after start and before stop.",
    "ContainerPort": "A port a container listens on.",
    "ContainerPort.containerPort": "Port number in the pod's network.",
    "ContainerPort.hostPort": "Port on the node forwarded to this container port.",
    "ContainerPort.hostIP": "Node IP the host port binds to.",
    "ContainerPort.name": "Name Services can use as targetPort.",
    "ContainerPort.protocol": "TCP (default), UDP or SCTP.",
    "EnvVar": "One environment variable.",
    "EnvVar.name": "Name of the variable.",
    "EnvVar.value": "Value; $(VAR) references to earlier variables are expanded.",
    "EnvVar.valueFrom": "Takes the value from a field, resource, ConfigMap or Secret.",
    "VolumeMount": "Mounts a volume into a container.",
    "VolumeMount.name": "Name of the pod volume.",
    "VolumeMount.mountPath": "Path in the container.",
    "VolumeMount.readOnly": "Mount read-only.",
    "VolumeMount.subPath": "Path inside the volume to mount instead of its root.",
    "Volume": "A named volume of a pod and its source.",
    "ResourceRequirements": "Compute resources a container requests and may not exceed.",
    "ResourceRequirements.limits": "Most of each resource the container may use.",
    "ResourceRequirements.requests": "Resources reserved for the container when scheduling.",
    "Probe": "A health check run against a container.",
    "Probe.httpGet": "Succeeds when an HTTP GET returns a status from 200 to 399.",
    "Probe.tcpSocket": "Succeeds when a TCP connection can be opened.",
    "Probe.exec": "Succeeds when a command exits with 0.",
    "Probe.grpc": "Succeeds when a gRPC health check reports SERVING.",
    "Probe.initialDelaySeconds": "Seconds to wait after the container starts.",
    "Probe.periodSeconds": "Seconds between checks (default 10).",
    "Probe.timeoutSeconds": "Seconds before one check times out (default 1).",
    "Probe.successThreshold": "Consecutive successes that count as passing (default 1).",
    "Probe.failureThreshold": "Consecutive failures that count as failing (default 3).",
    "Probe.terminationGracePeriodSeconds": "Grace period when a failing probe kills the container.",
    "HTTPGetAction": "An HTTP GET request made by a probe or hook.",
    "HTTPGetAction.path": "Path to request.",
    "HTTPGetAction.port": "Port, by number or container port name.",
    "HTTPGetAction.host": "Host to connect to; defaults to the pod IP.",
    "HTTPGetAction.scheme": "HTTP (default) or HTTPS.",
    "HTTPGetAction.httpHeaders": "Extra request headers.",
    "TCPSocketAction": "A TCP connection attempt made by a probe.",
    "TCPSocketAction.port": "Port, by number or container port name.",
    "TCPSocketAction.host": "Host to connect to; defaults to the pod IP.",
    "PodStatus": "What the node reports about a pod.",
    "PodStatus.phase": "Pending, Running, Succeeded, Failed or Unknown.",
    "PodStatus.podIP": "Primary IP of the pod.",
    "PodStatus.podIPs": "IPs of the pod, one per family.",
    "PodStatus.hostIP": "Primary IP of the node running the pod.",
    "PodStatus.conditions": "Current conditions, such as Ready.",
    "PodStatus.containerStatuses": "Status of each container.",
    "PodTemplateSpec": "The pods a controller creates: their metadata and spec.",
    "PodTemplateSpec.metadata": "Labels and annotations given to the created pods.",
    "PodTemplateSpec.spec": "Spec of the created pods.",
    # Deployment and friends
    "DeploymentSpec": "The desired pods of a Deployment and how changes roll out.",
    "DeploymentSpec.replicas": "Number of pods wanted (default 1).",
    "DeploymentSpec.selector": "Selects the pods this Deployment manages; must match the "
    "template's labels.",
    "DeploymentSpec.template": "Template of the pods to create.",
    "DeploymentSpec.strategy": "How old pods are replaced by new ones.",
    "DeploymentSpec.minReadySeconds": "Seconds a new pod must be ready to count as available.",
    "DeploymentSpec.revisionHistoryLimit": "Old ReplicaSets kept for rollback (default 10).",
    "DeploymentSpec.progressDeadlineSeconds": "Seconds without progress before the rollout "
    "is reported as failed.",
    "DeploymentSpec.paused": "Stops rollouts while true.",
    "DeploymentStrategy": "How a Deployment replaces pods.",
    "DeploymentStrategy.type": "RollingUpdate (default) or Recreate.",
    "DeploymentStrategy.rollingUpdate": "Settings of a rolling update.",
    "RollingUpdateDeployment": "Limits of a rolling update.",
    "RollingUpdateDeployment.maxSurge": "Pods allowed above the desired count, as a number "
    "or percentage.",
    "RollingUpdateDeployment.maxUnavailable": "Pods allowed to be unavailable, as a number or "
    "percentage.",
    "DeploymentStatus": "What the controller reports about a Deployment.",
    "ReplicaSetSpec": "The pods a ReplicaSet keeps running.",
    "ReplicaSetSpec.replicas": "Number of pods wanted (default 1).",
    "ReplicaSetSpec.selector": "Selects the pods this ReplicaSet manages.",
    "ReplicaSetSpec.template": "Template of the pods to create.",
    "DaemonSetSpec": "The pods a DaemonSet runs on each node.",
    "DaemonSetSpec.selector": "Selects the pods this DaemonSet manages.",
    "DaemonSetSpec.template": "Template of the pods to create.",
    "ReplicationControllerSpec": "The pods a ReplicationController keeps running.",
    "ReplicationControllerSpec.replicas": "Number of pods wanted (default 1).",
    "ReplicationControllerSpec.selector": "Labels of the pods to manage; defaults to the "
    "template's labels.",
    "ReplicationControllerSpec.template": "Template of the pods to create.",
    # ConfigMap, Secret
    "ConfigMap.data": "UTF-8 configuration values by key.",
    "ConfigMap.binaryData": "Binary values by key, base64-encoded.",
    "ConfigMap.immutable": "When true, the data cannot change.",
    "Secret.data": "Secret values by key, base64-encoded.",
    "Secret.stringData": "Write-only convenience: plain-text values merged into data.",
    "Secret.type": "Type of the secret, such as Opaque or kubernetes.io/tls.",
    "Secret.immutable": "When true, the data cannot change.",
    # metadata
    "ObjectMeta.name": "Name, unique within the namespace (or cluster) for this kind.",
    "ObjectMeta.generateName": "Prefix for a name the server generates when name is empty.",
    "ObjectMeta.namespace": "Namespace the object lives in.",
    "ObjectMeta.labels": "Key/value pairs that selectors match on.",
    "ObjectMeta.annotations": "Key/value pairs for tools and people; not used for selection.",
    "ObjectMeta.uid": "Unique ID the server assigns on creation.",
    "ObjectMeta.resourceVersion": "Opaque version of this object, changed on every write; "
    "used for concurrency control and watches.",
    "ObjectMeta.generation": "Incremented by the server on each change to the desired state.",
    "ObjectMeta.creationTimestamp": "When the server created the object.",
    "ObjectMeta.deletionTimestamp": "When deletion was requested; the object goes away once "
    "its finalizers are removed.",
    "ObjectMeta.deletionGracePeriodSeconds": "Grace period of a requested deletion.",
    "ObjectMeta.finalizers": "Names of cleanup steps that must finish before the object is "
    "removed.",
    "ObjectMeta.ownerReferences": "Objects this one depends on; it is garbage collected "
    "after them.",
    "ObjectMeta.managedFields": "Which manager owns which fields, for server-side apply.",
    "ObjectMeta.selfLink": "Deprecated and unused.",
    "LabelSelector.matchLabels": "Labels that must all be present with these values.",
    "LabelSelector.matchExpressions": "Requirements that must all hold.",
}


def words(name: str) -> str:
    parts = re.findall(r"[A-Z]+s?(?=[A-Z][a-z]|\d|$)|[A-Z]?[a-z]+|[A-Z]+|\d+", name)
    out = []
    for part in parts:
        low = part.lower()
        out.append(_ACRONYMS.get(low, part if part.isupper() else low))
    text = " ".join(out)
    return text[:1].upper() + text[1:]


_ACRONYMS = {
    "ip": "IP",
    "ips": "IPs",
    "dns": "DNS",
    "tls": "TLS",
    "uid": "UID",
    "gid": "GID",
    "api": "API",
    "http": "HTTP",
    "tcp": "TCP",
    "grpc": "gRPC",
    "cidr": "CIDR",
    "url": "URL",
    "os": "OS",
    "id": "ID",
    "ipc": "IPC",
    "pid": "PID",
    "fqdn": "FQDN",
    "fs": "FS",
    "se": "SE",
    "csi": "CSI",
    "nfs": "NFS",
    "iscsi": "iSCSI",
    "fc": "FC",
}

_TYPE_WORDS = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "byte": "base64-encoded bytes",
    "int-or-string": "integer or string",
    "quantity": "quantity",
    "date-time": "RFC 3339 timestamp",
    "object": "free-form JSON",
}


def _generated_field_description(field: dict[str, Any]) -> str:
    what = short(field["ref"]) if field["type"] == "ref" else _TYPE_WORDS[field["type"]]
    if field.get("array"):
        return f"List of {what} values."
    if field.get("map"):
        return f"Map of {what} values by key."
    if field["type"] == "ref":
        return f"{words(field['name'])}, as a {what}."
    return f"{words(field['name'])} ({what})."


# --------------------------------------------------------------------------------------------
# The walk.

_REQUIRED = re.compile(r"Invalid value for `(\w+)`, must not be `None`")


def _required(cls: type) -> set[str]:
    return set(_REQUIRED.findall(inspect.getsource(cls)))


def _field(owner: str, json_name: str, pytype: str, models: Any) -> tuple[dict[str, Any], str]:
    """One field record and the model class it refers to ('' when none)."""
    key = f"{owner}.{json_name}"
    rec: dict[str, Any] = {"name": json_name}
    inner = pytype
    if m := re.fullmatch(r"list\[(.+)\]", pytype):
        rec["array"] = True
        inner = m.group(1)
    elif m := re.fullmatch(r"dict\(str, (.+)\)", pytype):
        rec["map"] = True
        inner = m.group(1)
    target = ""
    if key in INT_OR_STRING:
        if inner != "object":
            raise SystemExit(f"{key}: expected object, got {pytype}")
        rec["type"] = "int-or-string"
    elif key in QUANTITY:
        rec["type"] = "quantity"
    elif key in BYTES:
        rec["type"] = "byte"
    elif key in FREE_FORM:
        rec["type"] = "object"
    elif inner == "str":
        rec["type"] = "string"
    elif inner == "int":
        rec["type"] = "integer"
        rec["format"] = "int64" if key in INT64 else "int32"
    elif inner == "float":
        rec["type"] = "number"
        rec["format"] = "double"
    elif inner == "bool":
        rec["type"] = "boolean"
    elif inner == "datetime":
        rec["type"] = "date-time"
        if key in MICRO_TIME:
            rec["format"] = "micro-time"
    elif inner == "object":
        raise SystemExit(f"{key}: untyped object field; classify it in gen_schema.py")
    elif hasattr(models, inner):
        rec["type"] = "ref"
        rec["ref"] = definition_name(inner)
        target = inner
    else:
        raise SystemExit(f"{key}: unknown type {pytype}")
    if key in PATCH:
        strategy, merge_key, list_type, map_keys = PATCH[key]
        if strategy:
            rec["patchStrategy"] = strategy
        if merge_key:
            rec["mergeKey"] = merge_key
        if list_type:
            rec["listType"] = list_type
        if map_keys:
            rec["listMapKeys"] = list(map_keys)
    elif rec.get("array"):
        rec["listType"] = "atomic"
    if key in ATOMIC_MAPS:
        rec["mapType"] = "atomic"
    return rec, target


def _roots() -> list[tuple[str, tuple[str, str, str]]]:
    from kubesvc.api.resources import RESOURCES

    kinds: dict[tuple[str, str, str], None] = {}
    for r in RESOURCES:
        kinds[(r.group, r.version, r.kind)] = None
        kinds[(r.group, r.version, r.list_kind)] = None
    for gvk in EXTRA_KINDS:
        kinds[gvk] = None
    return [(class_for_kind(g, k), (g, v, k)) for (g, v, k) in kinds]


def build() -> dict[str, Any]:
    """The schema document, from the installed client's models."""
    from kubernetes.client import models  # type: ignore[import-untyped]

    gvk_of: dict[str, tuple[str, str, str]] = {}
    queue: deque[str] = deque()
    for cls_name, root_gvk in _roots():
        gvk_of[cls_name] = root_gvk
        queue.append(cls_name)
    queue.extend(EXTRA_TYPES)
    seen: set[str] = set()
    definitions: dict[str, Any] = {}
    while queue:
        cls_name = queue.popleft()
        if cls_name in seen:
            continue
        seen.add(cls_name)
        cls = getattr(models, cls_name)
        name = definition_name(cls_name)
        owner = short(name)
        required = _required(cls)
        fields = []
        for attr, pytype in cls.openapi_types.items():
            json_name = cls.attribute_map[attr]
            rec, target = _field(owner, json_name, pytype, models)
            if attr in required:
                rec["required"] = True
            fields.append(rec)
            if target:
                queue.append(target)
        gvk = gvk_of.get(cls_name)
        raw: dict[str, Any] = {"fields": sorted(fields, key=lambda f: f["name"])}
        if gvk:
            raw["gvk"] = {"group": gvk[0], "version": gvk[1], "kind": gvk[2]}
        if owner in ATOMIC_STRUCTS:
            raw["structType"] = "atomic"
        definitions[name] = raw
    _check_tables(definitions)
    _add_proto(definitions, load_proto_fields(PROTO_FIELDS.read_text(encoding="utf-8")))
    for name, raw in definitions.items():
        _describe(name, raw)
    return {"definitions": dict(sorted(definitions.items()))}


def _check_tables(definitions: dict[str, Any]) -> None:
    """Every table entry must name an existing field of a unique definition."""
    by_short: dict[str, list[str]] = {}
    for name in definitions:
        by_short.setdefault(short(name), []).append(name)
    tables = (
        INT64,
        INT_OR_STRING,
        QUANTITY,
        BYTES,
        FREE_FORM,
        MICRO_TIME,
        set(PATCH),
        ATOMIC_MAPS,
    )
    for table in tables:
        for key in table:
            owner, _, field = key.partition(".")
            names = by_short.get(owner, [])
            if len(names) != 1:
                raise SystemExit(f"table key {key}: {len(names)} definitions named {owner}")
            if field not in {f["name"] for f in definitions[names[0]]["fields"]}:
                raise SystemExit(f"table key {key}: no such field")
    for owner in ATOMIC_STRUCTS:
        if owner not in by_short:
            raise SystemExit(f"atomic struct {owner}: no such definition")


# --------------------------------------------------------------------------------------------
# Protobuf numbers (format described at the top of proto_fields.txt).

ProtoField = tuple[int, int, str, bool]
"""(embedded-at number or 0, number, type as written, omitempty)."""

# Messages whose JSON form is a scalar or free-form value, by schema type and format.
_PROTO_SPECIAL = {
    "Time": ("date-time", ""),
    "MicroTime": ("date-time", "micro-time"),
    "Quantity": ("quantity", ""),
    "IntOrString": ("int-or-string", ""),
    "FieldsV1": ("object", ""),
    "RawExtension": ("object", ""),
}
_PROTO_SCALARS = {
    "string": ("string", ""),
    "bool": ("boolean", ""),
    "int32": ("integer", "int32"),
    "int64": ("integer", "int64"),
    "double": ("number", "double"),
    "bytes": ("byte", ""),
}


def load_proto_fields(text: str) -> dict[str, dict[str, ProtoField]]:
    """Parse proto_fields.txt: definition name -> JSON field -> facts."""
    out: dict[str, dict[str, ProtoField]] = {}
    current: dict[str, ProtoField] | None = None
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        if not line[0].isspace():
            current = out.setdefault(line.strip(), {})
            continue
        parts = line.split()
        if current is None or len(parts) not in (3, 4) or parts[3:] not in ([], ["omitempty"]):
            raise SystemExit(f"proto_fields.txt:{lineno}: cannot parse {line!r}")
        embed, _, number = parts[1].rpartition(".")
        current[parts[0]] = (int(embed or 0), int(number), parts[2], len(parts) == 4)
    return out


def _proto_type_matches(rec: dict[str, Any], proto_type: str) -> bool:
    base = proto_type.removeprefix("*")
    if base.startswith("map[string]"):
        if not rec.get("map"):
            return False
        base = base.removeprefix("map[string]")
    elif base.startswith("[]"):
        if not rec.get("array"):
            return False
        base = base.removeprefix("[]")
    elif rec.get("array") or rec.get("map"):
        return False
    if rec["type"] == "ref":
        return base == short(rec["ref"])
    want = _PROTO_SCALARS.get(base) or _PROTO_SPECIAL.get(base)
    return want == (rec["type"], rec.get("format", ""))


def _add_proto(definitions: dict[str, Any], table: dict[str, dict[str, ProtoField]]) -> None:
    """Give every field its protobuf number; the table and the schema must agree exactly."""
    if missing := sorted(set(definitions) - set(table)):
        raise SystemExit(f"proto_fields.txt: no block for {', '.join(missing)}")
    if extra := sorted(set(table) - set(definitions)):
        raise SystemExit(f"proto_fields.txt: unknown definitions {', '.join(extra)}")
    for name, raw in definitions.items():
        facts = dict(table[name])
        for rec in raw["fields"]:
            if raw.get("gvk") and rec["name"] in ("apiVersion", "kind"):
                continue  # carried by the envelope
            key = f"{name}.{rec['name']}"
            if rec["name"] not in facts:
                raise SystemExit(f"proto_fields.txt: no number for {key}")
            embed, number, proto_type, omitempty = facts.pop(rec["name"])
            if not _proto_type_matches(rec, proto_type):
                raise SystemExit(f"proto_fields.txt: {key} is {proto_type}, schema disagrees")
            rec["proto"] = number
            if embed:
                rec["protoEmbed"] = embed
            if proto_type.startswith("*"):
                rec["pointer"] = True
            if omitempty:
                rec["omitEmpty"] = True
        if facts:
            raise SystemExit(f"proto_fields.txt: {name} has no fields {', '.join(sorted(facts))}")


def _curated(name: str, field: str = "") -> str:
    suffix = f".{field}" if field else ""
    return DESCRIPTIONS.get(name + suffix) or DESCRIPTIONS.get(short(name) + suffix, "")


def _group_version_label(name: str) -> str:
    package = name.rsplit(".", 1)[0]
    group = next(key for key, value in PACKAGES.items() if value == package)
    return f"{group}/v1"


def _describe(name: str, raw: dict[str, Any]) -> None:
    gvk = raw.get("gvk")
    kind = short(name)
    text = _curated(name)
    if not text and gvk and kind.endswith("List"):
        text = f"A list of {kind[:-4]} objects."
    if not text:
        text = f"{words(kind)} ({kind} in {_group_version_label(name)})."
    raw["description"] = text
    for field in raw["fields"]:
        fname = field["name"]
        desc = _curated(name, fname)
        if not desc and gvk:
            if fname == "metadata" and field.get("ref", "").endswith(".ListMeta"):
                desc = "List metadata: resource version and continue token."
            elif fname in KIND_FIELDS:
                desc = KIND_FIELDS[fname]
            elif fname == "spec":
                desc = f"Desired state of the {kind}."
            elif fname == "status":
                desc = f"State of the {kind} as last observed by the system; read-only."
            elif fname == "items" and kind.endswith("List"):
                desc = f"The {kind[:-4]} objects."
        field["description"] = desc or _generated_field_description(field)


# --------------------------------------------------------------------------------------------
# Output.


def render(doc: dict[str, Any]) -> str:
    """Deterministic text: one definition per line, keys sorted, compact separators."""
    import json

    lines = ['{"definitions": {']
    items = list(doc["definitions"].items())
    for i, (name, raw) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        body = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        lines.append(f"{json.dumps(name)}: {body}{comma}")
    lines.append("}}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="fail if schema.json is stale")
    args = parser.parse_args(argv)
    import kubernetes  # type: ignore[import-untyped]

    if kubernetes.__version__ != CLIENT_VERSION:
        print(f"need kubernetes=={CLIENT_VERSION}, have {kubernetes.__version__}")
        return 2
    text = render(build())
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT.relative_to(ROOT)} is stale; run scripts/gen_schema.py")
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
