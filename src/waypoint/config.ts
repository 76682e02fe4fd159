// The waypoint process's config (`ambit waypoint run`): the environment the node agent gives a
// waypoint pod (mesh-api/waypoint-env.ts), read once at start in a pure function
// (argv, env) → config | ConfigError that names the bad value and what it wants.
import { isIP } from 'node:net';
import { badValue, collect, ConfigError, envValue, logLevelValue, parseFlags, type Env } from '../lib/config.js';
import type { LogLevel } from '../lib/log.js';
import { WAYPOINT_ENV } from '../mesh-api/waypoint-env.js';

export interface WaypointProcessConfig {
  podName: string;
  podNamespace: string;
  podIP: string;
  nodeName: string;
  serviceAccount: string;
  trustDomain: string;
  clusterId: string;
  waypointName: string;
  /** host:port. */
  caAddress: string;
  xdsAddress: string;
  caRootFile: string;
  tokenFile: string;
  logLevel: LogLevel;
}

export const WAYPOINT_RUN_USAGE = `ambit waypoint run (started in a waypoint pod by the node agent; env: ${Object.values(WAYPOINT_ENV).join(', ')})`;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** ztunnel's address form: https://host:port or host:port. */
function addressValue(name: string, value: string): string {
  const m = /^(?:https:\/\/)?((?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5}))\/?$/.exec(value);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw badValue(name, value, 'not an address (https://host:port or host:port)');
  return m[1]!;
}

export function loadWaypointConfig(argv: readonly string[], env: Env): WaypointProcessConfig | ConfigError {
  return collect(() => {
    parseFlags(argv, [], WAYPOINT_RUN_USAGE);
    const missing = Object.values(WAYPOINT_ENV).filter((n) => envValue(env, n) === undefined);
    if (missing.length) throw new ConfigError(`${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set: a waypoint pod gets them from the node agent\nusage: ${WAYPOINT_RUN_USAGE}`);
    const v = (k: keyof typeof WAYPOINT_ENV): string => envValue(env, WAYPOINT_ENV[k])!;
    const label = (k: 'podNamespace' | 'serviceAccount' | 'waypointName' | 'podName'): string => {
      const s = v(k);
      if (!(k === 'podName' ? DNS_NAME : DNS_LABEL).test(s)) throw badValue(WAYPOINT_ENV[k], s, 'not a Kubernetes name (lowercase letters, digits, -)');
      return s;
    };
    const podIP = v('podIP');
    if (!isIP(podIP)) throw badValue(WAYPOINT_ENV.podIP, podIP, 'not an IP address');
    const trustDomain = v('trustDomain');
    if (!DNS_NAME.test(trustDomain)) throw badValue(WAYPOINT_ENV.trustDomain, trustDomain, 'not a trust domain (e.g. cluster.local)');
    return {
      podName: label('podName'),
      podNamespace: label('podNamespace'),
      podIP,
      nodeName: v('nodeName'),
      serviceAccount: label('serviceAccount'),
      trustDomain,
      clusterId: v('clusterId'),
      waypointName: label('waypointName'),
      caAddress: addressValue(WAYPOINT_ENV.caAddress, v('caAddress')),
      xdsAddress: addressValue(WAYPOINT_ENV.xdsAddress, v('xdsAddress')),
      caRootFile: v('caRootFile'),
      tokenFile: v('tokenFile'),
      logLevel: logLevelValue(env),
    };
  });
}

/** The waypoint's SPIFFE identity. */
export const waypointIdentity = (c: Pick<WaypointProcessConfig, 'trustDomain' | 'podNamespace' | 'serviceAccount'>): string => `spiffe://${c.trustDomain}/ns/${c.podNamespace}/sa/${c.serviceAccount}`;

/** Istio's router node id for a waypoint, and the metadata the xDS server reads. */
export function waypointNode(c: WaypointProcessConfig): { id: string; nodeName: string; metadata: Record<string, string> } {
  return {
    id: `waypoint~${c.podIP}~${c.podName}.${c.podNamespace}~${c.podNamespace}.svc.cluster.local`,
    nodeName: c.nodeName,
    metadata: { NAMESPACE: c.podNamespace, WAYPOINT_NAME: c.waypointName, CLUSTER_ID: c.clusterId },
  };
}
