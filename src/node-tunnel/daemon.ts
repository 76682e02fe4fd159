// The node tunnel process of one node (`ambit node-tunnel`): config from the control plane's
// delta xDS, certificates from its CA (node token, refreshed at half life), enrollment from
// the node agent's socket. It runs in the host netns and opens every socket inside the pod
// netns it serves. Capture rules belong to the node agent, so they stay when this process
// stops: captured traffic is then refused, never sent in plaintext.
import * as fs from 'node:fs';
import type { MeshSnapshot } from '../mesh-api/types.js';
import { CaClient, DEFAULT_CA_SERVERNAME } from '../identity/ca-client.js';
import { CertManager } from '../identity/cert-manager.js';
import { loadRevocationList } from '../identity/crl.js';
import type { Logger } from '../lib/log.js';
import { XdsClient, type XdsState } from '../dataplane/xds-client.js';
import { formatDryRun } from '../dataplane/inbound-authz.js';
import { keyExchangeSupport } from '../dataplane/hbone/tls.js';
import { NodeTunnel, type TunnelApi } from './tunnel.js';
import { WorkerTunnel } from './workers.js';
import { ZdsClient } from './zds-client.js';

export interface NodeTunnelDaemonConfig {
  node: string;
  /** The node's address (xDS node id, like ztunnel's pod IP). */
  nodeIp: string;
  /** host:port of the control plane's xDS (istiod :15012; ztunnel's XDS_ADDRESS). */
  controlPlane: string;
  /** host:port of the CA when it is not the xDS server (ztunnel's CA_ADDRESS); default: controlPlane. */
  caAddress?: string;
  /** PEM file with the mesh roots (the CA's roots.pem; Istio: the istio-ca-root-cert ConfigMap). */
  rootsFile: string;
  /** The node's CA credential (nodes/<node>/ca-token). */
  tokenFile: string;
  /** The node agent's enrollment socket. */
  zdsSocket: string;
  trustDomain: string;
  /** Sent to the CA as `clusterid` (CLUSTER_ID; default "Kubernetes"). */
  clusterId?: string;
  /** Lifetime asked for workload certificates (ztunnel's SECRET_TTL; default 24 h). */
  certTtlSeconds?: number;
  /** The CA's CRL (Istio: CRL_PATH, from the istio-ca-crl ConfigMap); watched, enforced on change. */
  crlFile?: string;
  /** Extra CA certificates a CRL may be signed by (a plug-in CA's intermediate); the roots always count. */
  caCertFile?: string;
  /** Data-plane threads (ZTUNNEL_WORKER_THREADS); 1 runs the data path on the main thread. */
  threads?: number;
  /** Written with this process's pid once it serves (xDS synced + enrollment snapshot applied); a handoff waits for it. */
  readyFile?: string;
  log: Logger;
}

export interface NodeTunnelDaemon {
  tunnel: TunnelApi;
  xds: XdsClient;
  certs: CertManager;
  zds: ZdsClient;
  /** Data-plane threads in use. */
  threads: number;
  /** Stops accepting, drains open connections until deadlineMs, then closes everything. */
  close(deadlineMs?: number): Promise<void>;
}

function readPid(file: string): number | undefined {
  try {
    return Number(fs.readFileSync(file, 'utf8').trim());
  } catch {
    return undefined;
  }
}

export const snapshotOf = (s: XdsState): MeshSnapshot => ({
  workloads: [...s.workloads.values()],
  services: [...s.services.values()],
  authorizations: [...s.authorizations.values()],
});

export function startNodeTunnelDaemon(cfg: NodeTunnelDaemonConfig): NodeTunnelDaemon {
  const { log } = cfg;
  const kx = keyExchangeSupport();
  log(kx.postQuantum ? `HBONE key exchange: ${kx.groups} (post-quantum first)` : `HBONE post-quantum key exchange is off: ${kx.reason} (using ${kx.groups})`);
  const readRoots = (): string => fs.readFileSync(cfg.rootsFile, 'utf8');
  const readToken = (): string => fs.readFileSync(cfg.tokenFile, 'utf8').trim();
  const ca = new CaClient({ address: cfg.caAddress ?? cfg.controlPlane, rootsPem: readRoots, token: readToken, servername: DEFAULT_CA_SERVERNAME, ...(cfg.clusterId ? { clusterId: cfg.clusterId } : {}) });
  const certs = new CertManager(ca, cfg.certTtlSeconds !== undefined ? { ttlSeconds: cfg.certTtlSeconds } : {});
  certs.on('fetchFailed', (id, e) => log(`certificate for ${id}: ${e.message}`));
  const empty = { workloads: [], services: [], authorizations: [] };
  const threads = cfg.threads ?? 1;
  const tunnel: TunnelApi =
    threads > 1
      ? new WorkerTunnel({ threads, snapshot: empty, certificateFor: (id) => certs.get(id), trustDomain: cfg.trustDomain })
      : new NodeTunnel({ snapshot: empty, certificateFor: (id) => certs.get(id), trustDomain: cfg.trustDomain, manageCaptureRules: false });
  certs.on('updated', (c) => {
    log(`certificate for ${c.identity} issued, valid until ${c.notAfter.toISOString()}`);
    tunnel.updateCertificate(c);
  });
  const xds = new XdsClient({
    address: cfg.controlPlane,
    roots: readRoots(),
    token: readToken,
    node: { id: `ztunnel~${cfg.nodeIp}~ztunnel-${cfg.node}.istio-system~istio-system.svc.cluster.local`, nodeName: cfg.node },
    servername: DEFAULT_CA_SERVERNAME,
    log,
  });
  xds.on('change', () => tunnel.setSnapshot(snapshotOf(xds.state)));
  xds.on('connected', () => log('xDS connected'));
  xds.on('disconnected', (st) => log(`xDS disconnected (${st.details || st.code}); serving from the last known config`));
  void xds.ready.then(() => log(`xDS synced: ${xds.state.workloads.size} workloads, ${xds.state.services.size} services, ${xds.state.authorizations.size} policies`));
  xds.start();

  tunnel.on('inbound', (t) => log(`inbound ${t.status} ${t.peerIdentity} ${t.srcAddr} -> ${t.podIdentity} ${t.dst}${t.reason ? `: ${t.reason}` : ''} in=${t.bytesIn} out=${t.bytesOut}`));
  tunnel.on('outbound', (e) => e.error && log(`outbound ${e.pod} -> ${e.dst} (${e.route}) failed: ${e.error}`));
  tunnel.on('plaintext', (e) => !e.allowed && log(`inbound plaintext ${e.src} -> ${e.dst} denied: ${e.reason}`));
  tunnel.on('revoked', (e) => log(`closed ${e.peerIdentity ?? 'plaintext'} ${e.src} -> ${e.pod}:${e.dstPort}: ${e.reason}`));
  tunnel.on('dryRun', (e) => log(formatDryRun(e)));

  // Revocation (spec §9): a CRL that changes is verified and enforced at once; a bad one is
  // reported and the previous list stays in force.
  let lastCrl = '';
  const loadCrl = async (): Promise<void> => {
    if (!cfg.crlFile || !fs.existsSync(cfg.crlFile)) return;
    const pem = fs.readFileSync(cfg.crlFile, 'utf8');
    if (pem === lastCrl) return;
    lastCrl = pem;
    try {
      const extra = cfg.caCertFile && fs.existsSync(cfg.caCertFile) ? fs.readFileSync(cfg.caCertFile, 'utf8') : '';
      const list = await loadRevocationList(pem, readRoots() + extra);
      tunnel.setRevoked(list.serials);
      log(`CRL from ${list.issuer} (issued ${list.thisUpdate.toISOString()}): ${list.serials.size} revoked certificate(s) enforced`);
    } catch (e) {
      log(`CRL ${cfg.crlFile} ignored: ${(e as Error).message}; the previous list stays in force`);
    }
  };
  void loadCrl();
  if (cfg.crlFile) fs.watchFile(cfg.crlFile, { interval: 1000 }, () => void loadCrl());
  tunnel.on('certRevoked', (e) => log(`revoked peer: ${e.sessions} ${e.side === 'server' ? 'inbound' : 'outbound'} session(s) of pod ${e.pod} refused or torn down${e.peerIdentity ? ` (${e.peerIdentity}, serial ${e.serial})` : ''}`));

  const zds = new ZdsClient(cfg.zdsSocket, tunnel, log);
  zds.start();
  const synced = new Promise<void>((r) => (zds.synced ? r() : zds.once('synced', () => r())));
  void Promise.all([xds.ready, synced]).then(() => {
    log(`serving: ${tunnel.pods().length} pods enrolled`);
    if (cfg.readyFile) fs.writeFileSync(cfg.readyFile, `${process.pid}\n`);
  });
  return {
    tunnel,
    threads,
    xds,
    certs,
    zds,
    async close(deadlineMs = 5000) {
      if (cfg.readyFile && readPid(cfg.readyFile) === process.pid) fs.rmSync(cfg.readyFile, { force: true });
      zds.close();
      if (cfg.crlFile) fs.unwatchFile(cfg.crlFile);
      const open = tunnel.connections().length;
      const { forced } = await tunnel.drain(deadlineMs);
      log(`drained: ${open} connections were open, ${forced} still open at the ${deadlineMs} ms deadline were closed`);
      xds.close();
      certs.close();
    },
  };
}
