// Kubernetes object shapes for the kinds the local cluster serves. Pure types.

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: unknown;
  status?: unknown;
  [extra: string]: unknown;
}

export interface EnvVar { name: string; value?: string }
export interface ContainerPort { name?: string; containerPort: number; protocol?: 'TCP' | 'UDP' | 'SCTP' }
export interface Probe {
  tcpSocket?: { port: number | string; host?: string };
  httpGet?: { path?: string; port: number | string; scheme?: 'HTTP'; host?: string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
  successThreshold?: number;
}
export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: ContainerPort[];
  readinessProbe?: Probe;
}
export interface PodSpec {
  containers: Container[];
  serviceAccountName?: string;
  /** Deprecated alias of serviceAccountName, accepted on input. */
  serviceAccount?: string;
  nodeName?: string;
  restartPolicy?: 'Always' | 'OnFailure' | 'Never';
  terminationGracePeriodSeconds?: number;
}
export interface PodCondition { type: string; status: 'True' | 'False' | 'Unknown'; lastTransitionTime?: string; reason?: string; message?: string }
export interface ContainerStatus {
  name: string;
  ready: boolean;
  restartCount: number;
  started?: boolean;
  state?: { running?: { startedAt: string }; waiting?: { reason: string; message?: string }; terminated?: { exitCode: number; reason?: string; finishedAt?: string } };
}
export interface PodStatus {
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  podIP?: string;
  podIPs?: { ip: string }[];
  hostIP?: string;
  startTime?: string;
  conditions?: PodCondition[];
  containerStatuses?: ContainerStatus[];
  reason?: string;
  message?: string;
}
export interface Pod extends KubeObject { kind: 'Pod'; spec: PodSpec; status?: PodStatus }

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}
export interface DeploymentSpec {
  replicas?: number;
  selector: LabelSelector;
  template: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec };
}
export interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  conditions?: { type: string; status: string; reason?: string; message?: string; lastUpdateTime?: string }[];
}
export interface Deployment extends KubeObject { kind: 'Deployment'; spec: DeploymentSpec; status?: DeploymentStatus }

export interface ServicePort { name?: string; port: number; targetPort?: number | string; protocol?: 'TCP' | 'UDP' | 'SCTP'; appProtocol?: string }
export interface ServiceSpec {
  type?: 'ClusterIP';
  clusterIP?: string;
  clusterIPs?: string[];
  selector?: Record<string, string>;
  ports?: ServicePort[];
  trafficDistribution?: 'PreferClose' | 'PreferSameZone' | 'PreferSameNode';
  ipFamilies?: ('IPv4' | 'IPv6')[];
  ipFamilyPolicy?: 'SingleStack';
  /** Local: only endpoints on the client's own node. */
  internalTrafficPolicy?: 'Cluster' | 'Local';
  /** Not-ready (and terminating) pods are endpoints too. */
  publishNotReadyAddresses?: boolean;
}
export interface Service extends KubeObject { kind: 'Service'; spec: ServiceSpec }

export interface EndpointAddress { ip: string; nodeName?: string; targetRef?: { kind: string; name: string; namespace: string; uid?: string } }
export interface EndpointPort { name?: string; port: number; protocol?: string; appProtocol?: string }
export interface EndpointSubset { addresses?: EndpointAddress[]; notReadyAddresses?: EndpointAddress[]; ports?: EndpointPort[] }
export interface Endpoints extends KubeObject { kind: 'Endpoints'; subsets?: EndpointSubset[] }

export interface Namespace extends KubeObject { kind: 'Namespace'; status?: { phase?: string } }
export interface ServiceAccount extends KubeObject { kind: 'ServiceAccount' }

export const podIsReady = (pod: Pod): boolean =>
  pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

export interface NodeStatus {
  conditions?: { type: string; status: 'True' | 'False' | 'Unknown'; lastHeartbeatTime?: string; reason?: string; message?: string }[];
  addresses?: { type: string; address: string }[];
}
export interface NodeObject extends KubeObject { kind: 'Node'; spec?: { podCIDR?: string; podCIDRs?: string[]; unschedulable?: boolean }; status?: NodeStatus }

export const nodeIsReady = (n: NodeObject): boolean =>
  n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

export interface ConfigMap extends KubeObject { kind: 'ConfigMap'; data?: Record<string, string> }
