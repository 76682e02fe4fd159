// `ambit mesh-control-plane`: the mesh control plane (CA + xDS + mesh controller + root/CRL
// publisher + /metrics) as its own process, against any Kubernetes-conventional API server.
// Only imports what the mesh control plane itself needs: nothing of the local cluster stand-in.
import * as fs from 'node:fs';
import { resolveApiSource } from '../../kube/kubeconfig.js';
import { startMeshControlPlane, type MeshControlPlaneConfig } from '../../control-plane/mesh-control-plane.js';
import { logger, setLogLevel } from '../../lib/log.js';
import { shutdown, untilSignal } from './daemon-lifecycle.js';
import { loadMeshControlPlaneConfig, type MeshControlPlaneSettings } from './mesh-control-plane-config.js';
import { AmbitError } from '../../lib/errors.js';

/** Reads the files the settings point at (kubeconfig or service account, admin tokens). */
export function resolveMeshControlPlaneConfig(s: MeshControlPlaneSettings): MeshControlPlaneConfig {
  const { api, adminTokenFile, logLevel: _level, ...rest } = s;
  let adminTokens: string[] = [];
  if (adminTokenFile !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(adminTokenFile, 'utf8');
    } catch (e) {
      throw new AmbitError('AMBIT_E_CONFIG_INVALID', `cannot read the admin token file ${adminTokenFile}: ${(e as Error).message}`);
    }
    adminTokens = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  }
  return { ...rest, api: resolveApiSource(api), adminTokens };
}

export async function meshControlPlaneCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const settings = loadMeshControlPlaneConfig(args, env);
  if (settings instanceof Error) throw settings;
  setLogLevel(settings.logLevel);
  const log = logger('mesh-control-plane');
  const cfg = resolveMeshControlPlaneConfig(settings);
  log(`api server ${cfg.api.baseUrl} (${settings.api.kind === 'kubeconfig' ? settings.api.file : 'in-cluster service account'})`);
  const mcp = await startMeshControlPlane(cfg, log);
  const sig = await untilSignal();
  log(`${sig}: shutting down`);
  return shutdown(log, 4000, () => mcp.close());
}
