// Shared by the API-server and client tests: a real in-process control plane (TLS API
// server + scheduler + deployment and endpoints controllers) on a random loopback port,
// raw HTTPS requests, and polling with a readable failure.
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TokenEntry } from '../../../src/local/apiserver/auth.js';
import { KubeClient } from '../../../src/kube/kube-client.js';
import { nodeTokenKeyPath } from '../../../src/ca/node-auth.js';
import { createApiCerts } from '../../../src/local/cluster/api-certs.js';
import { startControlPlane, type ControlPlane, type ControlPlaneConfig } from '../../../src/local/control-plane.js';

export const ADMIN_TOKEN = 'admin-t';
export const NODE1_TOKEN = 'node1-t';
export const NODE2_TOKEN = 'node2-t';

export const TOKENS: TokenEntry[] = [
  { token: ADMIN_TOKEN, user: 'admin', role: 'admin' },
  { token: NODE1_TOKEN, user: 'system:node:node1', role: 'node', node: 'node1' },
  { token: NODE2_TOKEN, user: 'system:node:node2', role: 'node', node: 'node2' },
];

export interface Tls {
  cert: string;
  key: string;
  ca: string;
}

/** A running control plane plus what a test needs to talk to it. Restartable on the same data dir. */
export class TestControlPlane {
  readonly logs: string[] = [];
  #cp: ControlPlane | undefined;
  readonly #clients: KubeClient[] = [];

  private constructor(readonly root: string, readonly dataDir: string, readonly tls: Tls, readonly opts: TestControlPlaneOptions) {}

  static async start(prefix: string, opts: TestControlPlaneOptions = {}): Promise<TestControlPlane> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    try {
      const certs = createApiCerts(root);
      const tls: Tls = { cert: fs.readFileSync(certs.serverCert, 'utf8'), key: fs.readFileSync(certs.serverKey, 'utf8'), ca: fs.readFileSync(certs.caCert, 'utf8') };
      const t = new TestControlPlane(root, path.join(root, 'data'), tls, opts);
      await t.restart();
      return t;
    } catch (e) {
      fs.rmSync(root, { recursive: true, force: true });
      throw e;
    }
  }

  get port(): number {
    if (!this.#cp) throw new Error('control plane is not running');
    return this.#cp.port;
  }

  /** The running control plane (CA port, metrics port, authority when started with `ca`). */
  get cp(): ControlPlane {
    if (!this.#cp) throw new Error('control plane is not running');
    return this.#cp;
  }

  get caDir(): string {
    return path.join(this.root, 'ca');
  }

  get baseUrl(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** Starts the control plane (again) on the same data dir; the port changes. */
  async restart(): Promise<void> {
    await this.stop();
    const extra: Partial<ControlPlaneConfig> = this.opts.ca
      ? {
          mesh: {
            clusterId: 'Kubernetes',
            trustDomain: this.opts.ca.trustDomain ?? 'cluster.local',
            systemNamespace: 'istio-system',
            caDir: this.caDir,
            nodeTokenKeyFile: nodeTokenKeyPath(this.caDir),
            grpc: { host: '127.0.0.1', port: 0 },
            monitoring: { host: '127.0.0.1', port: 0 },
            ...(this.opts.ca.crlValiditySeconds ? { crlValiditySeconds: this.opts.ca.crlValiditySeconds } : {}),
          },
        }
      : {};
    this.#cp = await startControlPlane({ dataDir: this.dataDir, port: 0, tokens: TOKENS, tls: this.tls, log: (m) => this.logs.push(m), ...extra });
  }

  async stop(): Promise<void> {
    for (const c of this.#clients.splice(0)) c.close();
    const cp = this.#cp;
    this.#cp = undefined;
    await cp?.close();
  }

  /** A KubeClient for the current port; closed by stop(). */
  client(token: string = ADMIN_TOKEN): KubeClient {
    const c = new KubeClient({ baseUrl: this.baseUrl, token, ca: this.tls.ca });
    this.#clients.push(c);
    return c;
  }

  /** stop() and remove every file it wrote. */
  async destroy(): Promise<void> {
    try {
      await this.stop();
    } finally {
      fs.rmSync(this.root, { recursive: true, force: true });
    }
  }

  /** Polls until fn returns a value other than undefined/false, or fails with the recent control-plane log. */
  async waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      try {
        const v = await fn();
        if (v !== undefined && v !== false) return v;
      } catch (e) {
        last = e;
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}\ncontrol plane log:\n  ${this.logs.slice(-15).join('\n  ')}`);
      }
      await sleep(25);
    }
  }

  /** One HTTPS request with no client library in between. */
  raw(method: string, p: string, opts: { token?: string; body?: unknown; contentType?: string; accept?: string } = {}): Promise<RawResponse> {
    const data = opts.body === undefined ? undefined : Buffer.from(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body));
    return new Promise((resolve, reject) => {
      const req = https.request(
        new URL(p, this.baseUrl),
        {
          method,
          ca: this.tls.ca,
          agent: false,
          headers: {
            ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
            accept: opts.accept ?? 'application/json',
            ...(data ? { 'content-type': opts.contentType ?? 'application/json', 'content-length': data.length } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'] ?? '', headers: res.headers, text, json });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  }
}

export interface TestControlPlaneOptions {
  /** Also run the mesh CA (any free port, CA dir <root>/ca) and /metrics (any free port). */
  ca?: { trustDomain?: string; crlValiditySeconds?: number };
}

export interface RawResponse {
  status: number;
  contentType: string;
  headers: import('node:http').IncomingHttpHeaders;
  text: string;
  json: unknown;
}

export interface StatusBody {
  kind: string;
  apiVersion: string;
  status: string;
  message: string;
  reason: string;
  code: number;
  details?: { name?: string; kind?: string; causes?: { field?: string; message: string; reason?: string }[] };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
