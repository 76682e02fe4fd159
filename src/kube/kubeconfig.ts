// Where a process finds its Kubernetes API server: a kubeconfig file (current or named context;
// server, certificate-authority[-data], token / tokenFile, client-certificate/-key[-data]) or,
// inside a pod, the in-cluster environment (KUBERNETES_SERVICE_HOST/PORT + the service-account
// token and CA). Resolving reads files; choosing the source is done by the config loaders.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { AmbitError } from '../lib/errors.js';
import type { ClientConfig } from './kube-client.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export type ApiSource =
  | { kind: 'kubeconfig'; file: string; context?: string }
  | { kind: 'in-cluster'; host: string; port: string; tokenFile: string; caFile: string };

interface Named<T> {
  name?: string;
  cluster?: T;
  user?: T;
  context?: T;
}

interface KubeconfigDoc {
  'current-context'?: string;
  clusters?: Named<Record<string, unknown>>[];
  users?: Named<Record<string, unknown>>[];
  contexts?: Named<Record<string, unknown>>[];
}

/** Thrown when a kubeconfig or the in-cluster files cannot give a usable client config. */
export class KubeconfigError extends AmbitError {
  constructor(message: string) {
    super('AMBIT_E_KUBECONFIG', message);
  }
}

/**
 * A client config from kubeconfig text. Relative file references resolve against `baseDir`
 * (the kubeconfig's directory), as kubectl does; `readFile` is how they are read.
 */
export function clientConfigFromKubeconfig(text: string, where: string, baseDir: string, readFile: (file: string) => string, contextName?: string): ClientConfig {
  let doc: KubeconfigDoc;
  try {
    doc = (parse(text) ?? {}) as KubeconfigDoc;
  } catch (e) {
    throw new KubeconfigError(`${where}: not YAML (${(e as Error).message})`);
  }
  const ctxName = contextName ?? doc['current-context'];
  if (!ctxName) throw new KubeconfigError(`${where}: no current-context; pass --context NAME`);
  const find = (list: Named<Record<string, unknown>>[] | undefined, name: unknown, what: 'cluster' | 'user' | 'context'): Record<string, unknown> => {
    const e = (list ?? []).find((x) => x.name === name);
    const body = e?.[what];
    if (!body) throw new KubeconfigError(`${where}: no ${what} named '${String(name)}'`);
    return body;
  };
  const ctx = find(doc.contexts, ctxName, 'context');
  const cluster = find(doc.clusters, ctx['cluster'], 'cluster');
  const user = ctx['user'] === undefined ? {} : find(doc.users, ctx['user'], 'user');
  const server = cluster['server'];
  if (typeof server !== 'string' || !/^https?:\/\//.test(server)) throw new KubeconfigError(`${where}: cluster '${String(ctx['cluster'])}' has no http(s) server URL`);
  const fileOrData = (obj: Record<string, unknown>, key: string): string | undefined => {
    const data = obj[`${key}-data`];
    if (typeof data === 'string') return Buffer.from(data, 'base64').toString('utf8');
    const file = obj[key];
    if (typeof file === 'string') return readFile(path.resolve(baseDir, file));
    return undefined;
  };
  const token = typeof user['token'] === 'string' ? user['token'] : typeof user['tokenFile'] === 'string' ? readFile(path.resolve(baseDir, user['tokenFile'])).trim() : undefined;
  const ca = fileOrData(cluster, 'certificate-authority');
  const cert = fileOrData(user, 'client-certificate');
  const key = fileOrData(user, 'client-key');
  if (Boolean(cert) !== Boolean(key)) throw new KubeconfigError(`${where}: user '${String(ctx['user'])}' has a client certificate without its key (or the other way round)`);
  if (user['exec'] !== undefined || user['auth-provider'] !== undefined) throw new KubeconfigError(`${where}: user '${String(ctx['user'])}' uses an exec/auth-provider plugin, which is not supported; use a token or a client certificate`);
  return { baseUrl: server.replace(/\/+$/, ''), ...(token ? { token } : {}), ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}) };
}

/** Reads the source's files and returns the client config (errors name the file and what to do). */
export function resolveApiSource(src: ApiSource): ClientConfig {
  const read = (file: string): string => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new KubeconfigError(`cannot read ${file}: ${(e as Error).message}`);
    }
  };
  if (src.kind === 'kubeconfig') return clientConfigFromKubeconfig(read(src.file), src.file, path.dirname(path.resolve(src.file)), read, src.context);
  const host = src.host.includes(':') ? `[${src.host}]` : src.host;
  return { baseUrl: `https://${host}:${src.port}`, token: read(src.tokenFile).trim(), ca: read(src.caFile) };
}
