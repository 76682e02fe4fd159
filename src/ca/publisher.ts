// Publishes the CA's trust material through the API server, as istiod does:
//  - ConfigMap `istio-ca-root-cert` (key `root-cert.pem`) in every namespace, which is
//    what Istio proxies mount to verify the control plane;
//  - ConfigMap `istio-system/istio-ca-crl` (key `ca-crl.pem`), the peer CRL.
// Namespaces and the root ConfigMaps are watched, so a new namespace gets its copy and a
// deleted or edited copy is put back. publish() re-renders both after a revocation or a
// root rotation; the CRL is also re-signed at half its validity so it never lapses.
import { Informer } from '../kube/informer.js';
import { KubeApiError, type KubeClient } from '../kube/kube-client.js';
import { K } from '../model/core/kind-handles.js';
import { WorkQueue } from '../lib/work-queue.js';
import type { Logger } from '../lib/log.js';
import type { ConfigMap } from '../model/core/types.js';
import type { CertificateAuthority } from './authority.js';

export const ROOT_CONFIGMAP = 'istio-ca-root-cert';
export const ROOT_KEY = 'root-cert.pem';
export const CRL_CONFIGMAP = 'istio-ca-crl';
export const CRL_KEY = 'ca-crl.pem';
export const CRL_NAMESPACE = 'istio-system';
const DEFAULT_CRL_VALIDITY_S = 24 * 3600;
const CRL_KEY_IN_QUEUE = '\u0000crl';

export interface PublisherOptions {
  client: KubeClient;
  authority: CertificateAuthority;
  log: Logger;
  /** nextUpdate of each published CRL; it is re-signed at half of this. */
  crlValiditySeconds?: number;
  /** Where the CRL ConfigMap goes: the control plane's own namespace (istiod's POD_NAMESPACE; default istio-system). */
  systemNamespace?: string;
}

export class TrustPublisher {
  readonly #o: PublisherOptions;
  readonly #namespaces: Informer;
  readonly #rootMaps: Informer;
  readonly #queue: WorkQueue;
  #crlPem = '';
  #crlTimer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(opts: PublisherOptions) {
    this.#o = opts;
    this.#queue = new WorkQueue((k) => (k === CRL_KEY_IN_QUEUE ? this.#publishCrl() : this.#publishRoot(k)), opts.log);
    this.#namespaces = new Informer(opts.client, K.Namespace, undefined, {}, opts.log).on((type, ns) => {
      if (type !== 'DELETED') this.#queue.add(ns.metadata.name!);
    });
    this.#rootMaps = new Informer(opts.client, K.ConfigMap, undefined, { fieldSelector: `metadata.name=${ROOT_CONFIGMAP}` }, opts.log).on((_type, cm) => {
      // Ours being deleted or changed by someone else: reconcile (a no-op if it is right).
      this.#queue.add(cm.metadata.namespace!);
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.#namespaces.start(), this.#rootMaps.start()]);
    await this.#publishCrl();
  }

  /** Re-renders the root ConfigMaps and the CRL now (after a revocation or root rotation). */
  async publish(): Promise<void> {
    await this.#publishCrl();
    await Promise.all(this.#namespaces.list().map((ns) => this.#publishRoot(ns.metadata.name!).catch((e: unknown) => this.#o.log(`publisher: ${ns.metadata.name}/${ROOT_CONFIGMAP}: ${(e as Error).message}`))));
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#crlTimer);
    this.#queue.stop();
    this.#namespaces.stop();
    this.#rootMaps.stop();
  }

  async #publishRoot(ns: string): Promise<void> {
    const nsObj = this.#namespaces.get('', ns);
    if (this.#stopped || !nsObj || nsObj.metadata.deletionTimestamp) return;
    await this.#upsert(ns, ROOT_CONFIGMAP, { [ROOT_KEY]: this.#o.authority.rootsPem });
  }

  async #publishCrl(): Promise<void> {
    if (this.#stopped) return;
    const validity = this.#o.crlValiditySeconds ?? DEFAULT_CRL_VALIDITY_S;
    this.#crlPem = await this.#o.authority.crlPem(validity);
    await this.#upsert(this.#o.systemNamespace ?? CRL_NAMESPACE, CRL_CONFIGMAP, { [CRL_KEY]: this.#crlPem });
    clearTimeout(this.#crlTimer);
    this.#crlTimer = setTimeout(() => this.#queue.add(CRL_KEY_IN_QUEUE), (validity * 1000) / 2);
    this.#crlTimer.unref();
  }

  /** Creates or updates one ConfigMap to exactly `data`; retries on a write conflict. */
  async #upsert(ns: string, name: string, data: Record<string, string>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const cur = (await this.#o.client.getOrUndefined(K.ConfigMap, ns, name)) as ConfigMap | undefined;
      try {
        if (!cur) {
          await this.#o.client.create(K.ConfigMap, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, labels: { 'istio.io/config': 'true' } }, data } as ConfigMap);
          this.#o.log(`publisher: created ${ns}/${name}`);
        } else if (!sameData(cur.data, data)) {
          await this.#o.client.update(K.ConfigMap, { ...cur, data });
          this.#o.log(`publisher: updated ${ns}/${name}`);
        }
        return;
      } catch (e) {
        if (e instanceof KubeApiError && (e.status === 409 || e.status === 404) && attempt < 5) continue;
        throw e;
      }
    }
  }
}

function sameData(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  const ka = Object.keys(a ?? {});
  return ka.length === Object.keys(b).length && ka.every((k) => a?.[k] === b[k]);
}
