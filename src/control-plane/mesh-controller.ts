// Feeds the xDS server: informers on the cluster objects translation reads (pods, nodes for
// their locality, namespaces, services, and the Istio / Gateway API kinds the API server serves,
// HTTPRoute and GRPCRoute included for waypoints), a debounce so a burst of
// events (a deployment scaled by 100) becomes one translation, then translate() → the new
// MeshSnapshot → XdsServer.updateSnapshot, which diffs it per resource (spec §4.2). It reads
// only through list/watch, as istiod does against a real Kubernetes API server.
import { Informer } from '../kube/informer.js';
import type { KubeClient } from '../kube/kube-client.js';
import type { MeshSnapshot } from '../mesh-api/types.js';
import type { Logger } from '../lib/log.js';
import type { Counter, MetricsRegistry } from '../lib/metrics.js';
import { KINDS, type KindInfo } from '../model/core/kinds.js';
import type { KubeObject, Namespace, NodeObject, Pod, Service } from '../model/core/types.js';
import type { AuthorizationPolicyInput, GatewayInput, GRPCRouteInput, HTTPRouteInput, PeerAuthenticationInput, ServiceEntryInput, WorkloadEntryInput } from './translate/inputs.js';
import { translate } from './translate/snapshot.js';

export interface MeshControllerOptions {
  client: KubeClient;
  xds: { updateSnapshot(s: MeshSnapshot): void };
  clusterId: string;
  trustDomain: string;
  log: Logger;
  /** Where ambit_translation_errors_total goes (the monitoring port's registry). */
  metrics?: MetricsRegistry;
  /** Quiet time after an event before translating (default 50 ms), and the longest a burst may delay it (default 500 ms). */
  debounceMs?: number;
  maxDelayMs?: number;
}

const WATCHED = ['Pod', 'Node', 'Namespace', 'Service', 'AuthorizationPolicy', 'PeerAuthentication', 'ServiceEntry', 'WorkloadEntry', 'Gateway', 'HTTPRoute', 'GRPCRoute'] as const;
type Watched = (typeof WATCHED)[number];

export class MeshController {
  readonly #opts: MeshControllerOptions;
  readonly #informers = new Map<Watched, Informer>();
  #timer: NodeJS.Timeout | undefined;
  #burstStart = 0;
  #started = false;
  #lastDiagnostics = new Set<string>();
  readonly #errors: Counter | undefined;
  /** Translations run (for tests and logs). */
  translations = 0;

  constructor(opts: MeshControllerOptions) {
    this.#opts = opts;
    this.#errors = opts.metrics?.counter('ambit_translation_errors_total', 'Objects left out of a translation because translating them failed, by kind (counted per translation while they stay broken).', { labelled: true });
    for (const kind of WATCHED) {
      // The first version listed is the storage one; a kind the API server does not serve is skipped.
      const info: KindInfo | undefined = KINDS.find((k) => k.kind === kind);
      if (!info) continue;
      // Node heartbeats change only status: translate on a Node only when its labels (locality) change.
      const relevant = kind === 'Node' ? (o: KubeObject, prev?: KubeObject): boolean => !prev || JSON.stringify(o.metadata.labels) !== JSON.stringify(prev.metadata.labels) : (): boolean => true;
      this.#informers.set(kind, new Informer(opts.client, info, undefined, {}, opts.log).on((_t, o, prev) => relevant(o, prev) && this.#schedule()));
    }
  }

  /** Starts the informers and pushes the first snapshot once all have listed. */
  async start(): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.start()));
    this.#started = true;
    this.#run();
  }

  stop(): void {
    clearTimeout(this.#timer);
    for (const i of this.#informers.values()) i.stop();
  }

  #list<T>(kind: Watched): T[] {
    return (this.#informers.get(kind)?.list() ?? []) as KubeObject[] as T[];
  }

  #schedule(): void {
    if (!this.#started) return;
    const now = Date.now();
    if (!this.#timer) this.#burstStart = now;
    clearTimeout(this.#timer);
    const wait = Math.max(0, Math.min(this.#opts.debounceMs ?? 50, this.#burstStart + (this.#opts.maxDelayMs ?? 500) - now));
    this.#timer = setTimeout(() => this.#run(), wait);
  }

  #run(): void {
    this.#timer = undefined;
    const t0 = Date.now();
    let result: ReturnType<typeof translate>;
    try {
      result = translate({
        pods: this.#list<Pod>('Pod'),
        namespaces: this.#list<Namespace>('Namespace'),
        services: this.#list<Service>('Service'),
        nodes: this.#list<NodeObject>('Node'),
        authorizationPolicies: this.#list<AuthorizationPolicyInput>('AuthorizationPolicy'),
        peerAuthentications: this.#list<PeerAuthenticationInput>('PeerAuthentication'),
        serviceEntries: this.#list<ServiceEntryInput>('ServiceEntry'),
        workloadEntries: this.#list<WorkloadEntryInput>('WorkloadEntry'),
        gateways: this.#list<GatewayInput>('Gateway'),
        httpRoutes: this.#list<HTTPRouteInput>('HTTPRoute'),
        grpcRoutes: this.#list<GRPCRouteInput>('GRPCRoute'),
        clusterId: this.#opts.clusterId,
        trustDomain: this.#opts.trustDomain,
      });
    } catch (e) {
      // Keep serving the last good snapshot; the next event retries.
      this.#opts.log(`mesh: translation failed, node tunnels keep the previous configuration: ${(e as Error).stack ?? String(e)}`);
      return;
    }
    this.translations++;
    for (const e of result.errors) this.#errors?.inc({ kind: e.kind });
    // Log each diagnostic once while it persists, not on every translation.
    const now = new Set(result.diagnostics.map((d) => `${d.object}: ${d.message}`));
    for (const d of now) if (!this.#lastDiagnostics.has(d)) this.#opts.log(`mesh: ${d}`);
    this.#lastDiagnostics = now;
    const s = result.snapshot;
    this.#opts.log(`mesh: translated ${s.workloads.length} workloads, ${s.services.length} services, ${s.authorizations.length} authorizations, ${s.waypointRoutes?.length ?? 0} waypoint route sets in ${Date.now() - t0} ms`);
    this.#opts.xds.updateSnapshot(s);
  }
}
