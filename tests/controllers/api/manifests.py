"""Real-looking Kubernetes manifests, as users write them and as the API server returns them."""

from __future__ import annotations

NGINX_POD = """
apiVersion: v1
kind: Pod
metadata:
  name: nginx
  namespace: default
  labels:
    app: nginx
spec:
  initContainers:
  - name: wait-for-config
    image: busybox:1.36
    command: ["sh", "-c", "until test -f /config/ready; do sleep 1; done"]
  containers:
  - name: nginx
    image: nginx:1.27
    imagePullPolicy: IfNotPresent
    args: ["-g", "daemon off;"]
    ports:
    - name: http
      containerPort: 80
      protocol: TCP
    - containerPort: 8443
      hostPort: 443
    env:
    - name: MODE
      value: production
    - name: POD_NAME
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
    - name: GREETING
      valueFrom:
        configMapKeyRef:
          name: settings
          key: greeting
          optional: true
    resources:
      requests:
        cpu: 100m
        memory: 64Mi
        nvidia.com/gpu: 1
      limits:
        memory: 128Mi
    startupProbe:
      httpGet:
        path: /healthz
        port: http
      failureThreshold: 30
      periodSeconds: 2
    livenessProbe:
      httpGet:
        path: /healthz
        port: 80
        scheme: HTTP
        host: 127.0.0.1
      initialDelaySeconds: 5
      periodSeconds: 10
      timeoutSeconds: 1
      successThreshold: 1
      failureThreshold: 3
    readinessProbe:
      tcpSocket:
        port: 80
      periodSeconds: 5
  - name: sidecar
    image: busybox:1.36
    command: ["sh", "-c"]
    args: ["while true; do date; sleep 5; done"]
    livenessProbe:
      exec:
        command: ["cat", "/tmp/healthy"]
  restartPolicy: Always
  terminationGracePeriodSeconds: 30
  priority: 0
  dnsPolicy: ClusterFirst
  schedulerName: default-scheduler
  serviceAccountName: web
  nodeSelector:
    kubernetes.io/os: linux
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions:
          - key: topology.kubernetes.io/zone
            operator: In
            values: ["zone-a", "zone-b"]
          - key: node.example.com/cores
            operator: Gt
            values: ["4"]
          matchFields:
          - key: metadata.name
            operator: NotIn
            values: ["node-9"]
      preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 20
        preference:
          matchExpressions:
          - key: disktype
            operator: Exists
    podAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
      - labelSelector:
          matchLabels:
            app: cache
        topologyKey: topology.kubernetes.io/zone
        namespaces: ["default", "cache"]
    podAntiAffinity:
      preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          labelSelector:
            matchExpressions:
            - key: app
              operator: In
              values: ["nginx"]
          topologyKey: kubernetes.io/hostname
  tolerations:
  - key: node-role.kubernetes.io/control-plane
    operator: Exists
    effect: NoSchedule
  - key: node.kubernetes.io/unreachable
    operator: Exists
    effect: NoExecute
    tolerationSeconds: 300
  - key: dedicated
    operator: Equal
    value: web
    effect: PreferNoSchedule
  topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: DoNotSchedule
    labelSelector:
      matchLabels:
        app: nginx
"""

RUNNING_POD = """
apiVersion: v1
kind: Pod
metadata:
  name: web-7d4b9c-x2x8q
  namespace: default
  uid: 5f0e3f5c-0d5e-4a8e-9a47-0b9c8c2b1e11
  resourceVersion: "48213"
  creationTimestamp: "2025-03-01T10:00:00Z"
  labels:
    app: web
    pod-template-hash: 7d4b9c
  ownerReferences:
  - apiVersion: apps/v1
    kind: ReplicaSet
    name: web-7d4b9c
    uid: 0c1b2a39-8d7e-4f6a-b5c4-d3e2f1a0b9c8
    controller: true
    blockOwnerDeletion: true
spec:
  containers:
  - name: web
    image: nginx:1.27
    imagePullPolicy: IfNotPresent
    resources: {}
    terminationMessagePath: /dev/termination-log
    terminationMessagePolicy: File
    volumeMounts:
    - name: kube-api-access-abcde
      mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
  dnsPolicy: ClusterFirst
  enableServiceLinks: true
  nodeName: node-1
  preemptionPolicy: PreemptLowerPriority
  priority: 0
  restartPolicy: Always
  schedulerName: default-scheduler
  securityContext: {}
  serviceAccount: default
  serviceAccountName: default
  terminationGracePeriodSeconds: 30
  tolerations:
  - effect: NoExecute
    key: node.kubernetes.io/not-ready
    operator: Exists
    tolerationSeconds: 300
  volumes:
  - name: kube-api-access-abcde
    projected:
      defaultMode: 420
      sources:
      - serviceAccountToken:
          expirationSeconds: 3607
          path: token
status:
  conditions:
  - lastProbeTime: null
    lastTransitionTime: "2025-03-01T10:00:02Z"
    status: "True"
    type: Initialized
  - lastProbeTime: null
    lastTransitionTime: "2025-03-01T10:00:09Z"
    status: "True"
    type: Ready
  - lastProbeTime: null
    lastTransitionTime: "2025-03-01T10:00:00Z"
    status: "True"
    type: PodScheduled
  containerStatuses:
  - containerID: containerd://4a5b6c
    image: docker.io/library/nginx:1.27
    imageID: docker.io/library/nginx@sha256:0123abcd
    lastState:
      terminated:
        containerID: containerd://1a2b3c
        exitCode: 137
        finishedAt: "2025-03-01T10:00:07Z"
        reason: Error
        startedAt: "2025-03-01T10:00:03Z"
    name: web
    ready: true
    restartCount: 1
    started: true
    state:
      running:
        startedAt: "2025-03-01T10:00:08Z"
  - image: busybox:1.36
    imageID: ""
    lastState: {}
    name: helper
    ready: false
    restartCount: 0
    started: false
    state:
      waiting:
        message: back-off 10s restarting failed container
        reason: CrashLoopBackOff
  hostIP: 10.0.0.11
  hostIPs:
  - ip: 10.0.0.11
  phase: Running
  podIP: 10.244.1.7
  podIPs:
  - ip: 10.244.1.7
  qosClass: BestEffort
  startTime: "2025-03-01T10:00:00Z"
"""

KUBELET_NODE = """
apiVersion: v1
kind: Node
metadata:
  name: node-1
  uid: 7a8b9c0d-1e2f-3a4b-5c6d-7e8f9a0b1c2d
  resourceVersion: "51002"
  creationTimestamp: "2025-03-01T09:00:00Z"
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: node-1
    kubernetes.io/os: linux
    topology.kubernetes.io/zone: zone-a
  annotations:
    node.alpha.kubernetes.io/ttl: "0"
    volumes.kubernetes.io/controller-managed-attach-detach: "true"
spec:
  podCIDR: 10.244.1.0/24
  podCIDRs:
  - 10.244.1.0/24
  providerID: kind://docker/kind/node-1
  unschedulable: true
  taints:
  - effect: NoSchedule
    key: node.kubernetes.io/unschedulable
    timeAdded: "2025-03-01T11:00:00Z"
  - effect: PreferNoSchedule
    key: dedicated
    value: batch
status:
  addresses:
  - address: 10.0.0.11
    type: InternalIP
  - address: node-1
    type: Hostname
  allocatable:
    cpu: "4"
    ephemeral-storage: 100Gi
    hugepages-2Mi: "0"
    memory: 8027392Ki
    pods: "110"
  capacity:
    cpu: "4"
    ephemeral-storage: 100Gi
    hugepages-2Mi: "0"
    memory: 8129792Ki
    pods: "110"
  conditions:
  - lastHeartbeatTime: "2025-03-01T11:05:00Z"
    lastTransitionTime: "2025-03-01T09:00:00Z"
    message: kubelet has sufficient memory available
    reason: KubeletHasSufficientMemory
    status: "False"
    type: MemoryPressure
  - lastHeartbeatTime: "2025-03-01T11:05:00Z"
    lastTransitionTime: "2025-03-01T09:00:30Z"
    message: kubelet is posting ready status
    reason: KubeletReady
    status: "True"
    type: Ready
  daemonEndpoints:
    kubeletEndpoint:
      Port: 10250
  images:
  - names:
    - docker.io/library/nginx@sha256:0123abcd
    - docker.io/library/nginx:1.27
    sizeBytes: 72080558
  nodeInfo:
    architecture: amd64
    bootID: 0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e
    containerRuntimeVersion: containerd://1.7.18
    kernelVersion: 6.8.0-45-generic
    kubeProxyVersion: v1.31.0
    kubeletVersion: v1.31.0
    machineID: 9f8e7d6c5b4a39281706f5e4d3c2b1a0
    operatingSystem: linux
    osImage: Debian GNU/Linux 12 (bookworm)
    systemUUID: 1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d
  runtimeHandlers:
  - features:
      recursiveReadOnlyMounts: true
    name: runc
"""

SERVICE = """
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
spec:
  clusterIP: 10.96.12.34
  clusterIPs:
  - 10.96.12.34
  internalTrafficPolicy: Cluster
  ipFamilies:
  - IPv4
  ipFamilyPolicy: SingleStack
  ports:
  - name: http
    port: 80
    protocol: TCP
    targetPort: http
  - name: metrics
    port: 9090
    protocol: TCP
    targetPort: 9090
    nodePort: 30090
  publishNotReadyAddresses: true
  selector:
    app: web
  sessionAffinity: None
  type: NodePort
status:
  loadBalancer: {}
"""

ENDPOINTS = """
apiVersion: v1
kind: Endpoints
metadata:
  name: web
  namespace: default
subsets:
- addresses:
  - ip: 10.244.1.7
    nodeName: node-1
    targetRef:
      kind: Pod
      name: web-7d4b9c-x2x8q
      namespace: default
      uid: 5f0e3f5c-0d5e-4a8e-9a47-0b9c8c2b1e11
  notReadyAddresses:
  - ip: 10.244.2.9
    hostname: web-1
    nodeName: node-2
  ports:
  - name: http
    port: 80
    protocol: TCP
"""

ENDPOINT_SLICE = """
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc12
  namespace: default
  labels:
    kubernetes.io/service-name: web
addressType: IPv4
endpoints:
- addresses:
  - 10.244.1.7
  conditions:
    ready: true
    serving: true
    terminating: false
  nodeName: node-1
  targetRef:
    kind: Pod
    name: web-7d4b9c-x2x8q
    namespace: default
    uid: 5f0e3f5c-0d5e-4a8e-9a47-0b9c8c2b1e11
  zone: zone-a
- addresses:
  - 10.244.2.9
  conditions: {}
  hostname: web-1
ports:
- name: http
  port: 80
  protocol: TCP
"""

EMPTY_ENDPOINT_SLICE = """
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: idle-xyz
  namespace: default
addressType: IPv4
endpoints: null
ports: null
"""

CONFIG_MAP = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: default
data:
  greeting: hello
  nginx.conf: |
    server {
      listen 80;
    }
binaryData:
  logo.png: iVBORw0KGgo=
"""

NAMESPACE = """
apiVersion: v1
kind: Namespace
metadata:
  name: team-a
spec:
  finalizers:
  - kubernetes
status:
  phase: Active
"""

ALL = (
    NGINX_POD,
    RUNNING_POD,
    KUBELET_NODE,
    SERVICE,
    ENDPOINTS,
    ENDPOINT_SLICE,
    EMPTY_ENDPOINT_SLICE,
    CONFIG_MAP,
    NAMESPACE,
)
