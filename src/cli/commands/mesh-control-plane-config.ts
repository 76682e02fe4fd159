// The config loader of `ambit mesh-control-plane`: a pure function (argv, env) → typed config |
// ConfigError. Flags and variables follow istiod where it has one (--kubeconfig / KUBECONFIG,
// CLUSTER_ID, POD_NAMESPACE, ROOT_CA_DIR, --secureGRPCAddr, --monitoringAddr); a flag wins over
// its variable. Without a kubeconfig it uses the in-cluster environment, as istiod does.
import * as path from 'node:path';
import { SERVICE_ACCOUNT_DIR, type ApiSource } from '../../kube/kubeconfig.js';
import type { MeshControlPlaneConfig } from '../../control-plane/mesh-control-plane.js';
import { DEFAULT_TRUST_DOMAIN, validateTrustDomain } from '../../identity/spiffe.js';
import { badValue, collect, ConfigError, durationValue, envValue, listenAddressValue, logLevelValue, parseFlags, type Env } from '../../lib/config.js';
import type { LogLevel } from '../../lib/log.js';
import { MESH_CONTROL_PLANE_FLAGS } from '../specs.js';
import { CONTROL_PLANE_MONITORING_PORT, SECURE_GRPC_PORT } from '../../mesh-api/ports.js';

export const MESH_CONTROL_PLANE_USAGE = 'ambit mesh-control-plane [--kubeconfig FILE] --ca-dir DIR [flags] (--help lists every flag and variable)';

/** The typed config before its files are read: where the API server is, and the admin token file. */
export interface MeshControlPlaneSettings extends Omit<MeshControlPlaneConfig, 'api' | 'adminTokens'> {
  api: ApiSource;
  adminTokenFile?: string;
  logLevel: LogLevel;
}

const FLAGS = Object.keys(MESH_CONTROL_PLANE_FLAGS) as (keyof typeof MESH_CONTROL_PLANE_FLAGS)[];

export function loadMeshControlPlaneConfig(argv: readonly string[], env: Env): MeshControlPlaneSettings | ConfigError {
  return collect(() => {
    const f = parseFlags(argv, FLAGS, MESH_CONTROL_PLANE_USAGE);
    const caDir = f['ca-dir'] ?? envValue(env, 'ROOT_CA_DIR');
    if (!caDir) throw new ConfigError(`the CA directory is required: pass --ca-dir DIR or set ROOT_CA_DIR\nusage: ${MESH_CONTROL_PLANE_USAGE}`);
    const trustDomain = f['trust-domain'] ?? envValue(env, 'TRUST_DOMAIN') ?? DEFAULT_TRUST_DOMAIN;
    const badTd = validateTrustDomain(trustDomain);
    if (badTd) throw badValue(f['trust-domain'] !== undefined ? '--trust-domain' : 'TRUST_DOMAIN', trustDomain, badTd);
    const clusterId = f.clusterID ?? envValue(env, 'CLUSTER_ID') ?? 'Kubernetes';
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(clusterId)) throw badValue(f.clusterID !== undefined ? '--clusterID' : 'CLUSTER_ID', clusterId, 'want 1-63 letters, digits, ".", "_" or "-"');
    const systemNamespace = envValue(env, 'POD_NAMESPACE') ?? 'istio-system';
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(systemNamespace)) throw badValue('POD_NAMESPACE', systemNamespace, 'not a namespace name (RFC 1123 label)');
    const monitoringAddr = f.monitoringAddr ?? `127.0.0.1:${CONTROL_PLANE_MONITORING_PORT}`;
    const crl = envValue(env, 'CRL_VALIDITY');
    const out: MeshControlPlaneSettings = {
      api: apiSource(f.kubeconfig ?? envValue(env, 'KUBECONFIG'), f.context, env),
      clusterId,
      trustDomain,
      systemNamespace,
      caDir: path.resolve(caDir),
      nodeTokenKeyFile: path.resolve(f['node-token-key'] ?? envValue(env, 'NODE_TOKEN_KEY') ?? path.join(caDir, 'node-token-key.pem')),
      grpc: listenAddressValue('--secureGRPCAddr', f.secureGRPCAddr ?? `127.0.0.1:${SECURE_GRPC_PORT}`),
      ...(monitoringAddr === '' ? {} : { monitoring: listenAddressValue('--monitoringAddr', monitoringAddr) }),
      ...(crl !== undefined ? { crlValiditySeconds: Math.round(durationValue('CRL_VALIDITY', crl, 60_000) / 1000) } : {}),
      ...(f['admin-token-file'] !== undefined ? { adminTokenFile: path.resolve(f['admin-token-file']) } : {}),
      logLevel: logLevelValue(env),
    };
    return out;
  });
}

function apiSource(kubeconfig: string | undefined, context: string | undefined, env: Env): ApiSource {
  if (kubeconfig !== undefined) {
    // KUBECONFIG may list several files (kubectl merges them); one file is all this reads.
    if (kubeconfig.includes(path.delimiter)) throw badValue('KUBECONFIG', kubeconfig, 'several files are not supported; pass one with --kubeconfig');
    return { kind: 'kubeconfig', file: path.resolve(kubeconfig), ...(context !== undefined ? { context } : {}) };
  }
  if (context !== undefined) throw new ConfigError('--context needs --kubeconfig (or KUBECONFIG)');
  const host = envValue(env, 'KUBERNETES_SERVICE_HOST');
  const port = envValue(env, 'KUBERNETES_SERVICE_PORT');
  if (host === undefined || port === undefined) {
    throw new ConfigError(`no API server: pass --kubeconfig FILE (or set KUBECONFIG), or run in a pod (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT)\nusage: ${MESH_CONTROL_PLANE_USAGE}`);
  }
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw badValue('KUBERNETES_SERVICE_PORT', port, 'not a port (1-65535)');
  return { kind: 'in-cluster', host, port, tokenFile: path.join(SERVICE_ACCOUNT_DIR, 'token'), caFile: path.join(SERVICE_ACCOUNT_DIR, 'ca.crt') };
}
