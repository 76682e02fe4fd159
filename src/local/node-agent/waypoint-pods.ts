// What the node agent gives a waypoint pod (one whose Deployment the waypoint controller made):
// the environment of mesh-api/waypoint-env.ts, and its own credential — a service-account token
// bound to the pod (TokenRequest, audience istio-ca), written 0600 into the pod's private
// directory and rewritten at half its lifetime, as kubelet refreshes a projected token.
//
// Pods cannot reach the host's loopback where the control plane listens, so the node agent
// relays <pod gateway>:15012 in the node's network namespace to it (the local stand-in for the
// istiod Service). Its serving certificate names istiod.istio-system.svc, which clients verify.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { KubeClient } from '../../kube/kube-client.js';
import { ISTIO_CA_AUDIENCE, WAYPOINT_ENV } from '../../mesh-api/waypoint-env.js';
import type { Pod } from '../../model/core/types.js';
import { listenInNetns } from '../../platform/sockets.js';

export const MANAGED_LABEL = 'gateway.istio.io/managed';
export const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';
export const CONTROL_PLANE_RELAY_PORT = 15012;
const TOKEN_TTL_S = 43200;

export const isWaypointPod = (pod: Pod): boolean => pod.metadata.labels?.[MANAGED_LABEL] === 'istio.io-mesh-controller' && !!pod.metadata.labels?.[GATEWAY_NAME_LABEL];

export interface WaypointPodConfig {
  client: KubeClient;
  /** Per-pod private directories (mode 0700) live under here. */
  podsDir: string;
  trustDomain: string;
  clusterId: string;
  /** host:port of the control plane as pods on this node reach it (the relay). */
  controlPlane: string;
  caRootFile: string;
}

export const tokenFilePath = (podsDir: string, pod: Pod): string => path.join(podsDir, `${pod.metadata.namespace}_${pod.metadata.name}`, 'istio-token');

/** Requests a fresh token for the pod and writes it (0600, root only). Returns seconds until it expires. */
export async function writePodToken(cfg: WaypointPodConfig, pod: Pod): Promise<number> {
  const ns = pod.metadata.namespace!;
  const sa = pod.spec.serviceAccountName ?? pod.spec.serviceAccount ?? 'default';
  const body = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [ISTIO_CA_AUDIENCE], expirationSeconds: TOKEN_TTL_S, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod.metadata.name, uid: pod.metadata.uid } } };
  const res = (await cfg.client.request('POST', `/api/v1/namespaces/${encodeURIComponent(ns)}/serviceaccounts/${encodeURIComponent(sa)}/token`, body)) as { status?: { token?: string } };
  const token = res.status?.token;
  if (!token) throw new Error(`the API server returned no token for ${ns}/${sa}`);
  const file = tokenFilePath(cfg.podsDir, pod);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(`${file}.tmp`, token, { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file); // readers never see a half-written token
  return TOKEN_TTL_S;
}

export function waypointEnv(cfg: WaypointPodConfig, pod: Pod): Record<string, string> {
  return {
    [WAYPOINT_ENV.trustDomain]: cfg.trustDomain,
    [WAYPOINT_ENV.clusterId]: cfg.clusterId,
    [WAYPOINT_ENV.waypointName]: pod.metadata.labels?.[GATEWAY_NAME_LABEL] ?? '',
    [WAYPOINT_ENV.caAddress]: cfg.controlPlane,
    [WAYPOINT_ENV.xdsAddress]: cfg.controlPlane,
    [WAYPOINT_ENV.caRootFile]: cfg.caRootFile,
    [WAYPOINT_ENV.tokenFile]: tokenFilePath(cfg.podsDir, pod),
  };
}

export function removePodFiles(podsDir: string, pod: Pod): void {
  fs.rmSync(path.dirname(tokenFilePath(podsDir, pod)), { recursive: true, force: true });
}

/** Relays host:port inside the node netns to the control plane on the host's loopback. */
export function startControlPlaneRelay(nodeNetnsPath: string, host: string, target: { host: string; port: number }, log: (m: string) => void): net.Server {
  const server = listenInNetns(nodeNetnsPath, { host, port: CONTROL_PLANE_RELAY_PORT });
  server.on('connection', (down) => {
    const up = net.connect(target.port, target.host);
    down.pipe(up).pipe(down);
    const end = (): void => {
      down.destroy();
      up.destroy();
    };
    down.on('error', end);
    up.on('error', (e) => {
      log(`control-plane relay: ${e.message}`);
      end();
    });
    down.on('close', end);
    up.on('close', end);
  });
  server.on('error', (e) => log(`control-plane relay on ${host}:${CONTROL_PLANE_RELAY_PORT}: ${e.message}`));
  return server;
}
