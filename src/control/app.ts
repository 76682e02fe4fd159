// The control plane process: API server (store + registry) plus the controllers that
// play kube-controller-manager and kube-scheduler. Controllers talk to the API server
// over HTTP like any other client. Later issues add the CA and the xDS push here.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { Authenticator, type TokenEntry } from '../apiserver/auth.js';
import { Registry } from '../apiserver/registry.js';
import { ApiServer } from '../apiserver/server.js';
import { ServiceIPAllocator } from '../apiserver/service-ips.js';
import { Store } from '../apiserver/store.js';
import { Wal } from '../apiserver/wal.js';
import { KubeClient } from '../client/kube-client.js';
import { SERVICE_CIDR } from '../cluster/addressing.js';
import { DeploymentController } from '../controllers/deployment-controller.js';
import { EndpointsController } from '../controllers/endpoints-controller.js';
import { Scheduler } from '../controllers/scheduler.js';
import type { Logger } from '../lib/log.js';

export interface ControlPlaneConfig {
  dataDir: string;
  port: number;
  /** Tokens accepted from users and node agents. */
  tokens: TokenEntry[];
  /** PEM serving certificate, key and the CA that signed them. */
  tls?: { cert: string; key: string; ca: string };
  log: Logger;
}

export interface ControlPlane {
  port: number;
  close(): Promise<void>;
}

export function readTokens(file: string): TokenEntry[] {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the token file ${file}: ${(e as Error).message}`);
  }
  return JSON.parse(raw) as TokenEntry[];
}

export async function startControlPlane(cfg: ControlPlaneConfig): Promise<ControlPlane> {
  const store = new Store(new Wal(cfg.dataDir));
  if (store.truncatedBytes) cfg.log(`store: dropped a torn final log record (${store.truncatedBytes} bytes) left by a crash`);
  cfg.log(`store: loaded at resourceVersion ${store.resourceVersion} from ${cfg.dataDir}`);
  const registry = new Registry(store, new ServiceIPAllocator(SERVICE_CIDR));
  registry.bootstrap();
  // Controllers get their own in-memory token: nothing on disk grants their rights.
  const controllerToken = randomBytes(32).toString('hex');
  const auth = new Authenticator([...cfg.tokens, { token: controllerToken, user: 'system:controller-manager', role: 'admin' }]);
  const api = new ApiServer({ registry, auth, port: cfg.port, log: cfg.log, ...(cfg.tls ? { tls: { cert: cfg.tls.cert, key: cfg.tls.key } } : {}) });
  const port = await api.listen();
  const scheme = cfg.tls ? 'https' : 'http';
  cfg.log(`api server listening on ${scheme}://127.0.0.1:${port}`);
  const client = new KubeClient({ baseUrl: `${scheme}://127.0.0.1:${port}`, token: controllerToken, ...(cfg.tls ? { ca: cfg.tls.ca } : {}) });
  const controllers = [new Scheduler(client, cfg.log), new DeploymentController(client, cfg.log), new EndpointsController(client, cfg.log)];
  await Promise.all(controllers.map((c) => c.start()));
  cfg.log('controllers started: scheduler, deployment, endpoints');
  return {
    port,
    async close() {
      for (const c of controllers) c.stop();
      client.close();
      await api.close();
      store.close();
    },
  };
}
