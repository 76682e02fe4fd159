// The node tunnel process of one node (`ambit node-tunnel`): config from the control plane's
// delta xDS, certificates from its CA (node token, refreshed at half life), enrollment from
// the node agent's socket. It runs in the host netns and opens every socket inside the pod
// netns it serves. Capture rules belong to the node agent, so they stay when this process
// stops: captured traffic is then refused, never sent in plaintext.
import * as fs from 'node:fs';
import type { MeshSnapshot } from '../api/types.js';
import { CaClient, DEFAULT_CA_SERVERNAME } from '../identity/ca-client.js';
import { CertManager } from '../identity/cert-manager.js';
import type { Logger } from '../lib/log.js';
import { XdsClient, type XdsState } from '../xds/client.js';
import { NodeTunnel } from './tunnel.js';
import { ZdsClient } from './zds-client.js';

export interface NodeTunnelDaemonConfig {
  node: string;
  /** The node's address (xDS node id, like ztunnel's pod IP). */
  nodeIp: string;
  /** host:port of the control plane's CA + xDS (istiod :15012). */
  controlPlane: string;
  /** PEM file with the mesh roots (the CA's roots.pem; Istio: the istio-ca-root-cert ConfigMap). */
  rootsFile: string;
  /** The node's CA credential (nodes/<node>/ca-token). */
  tokenFile: string;
  /** The node agent's enrollment socket. */
  zdsSocket: string;
  trustDomain: string;
  /** Lifetime asked for workload certificates (ztunnel's SECRET_TTL; default 24 h). */
  certTtlSeconds?: number;
  log: Logger;
}

export interface NodeTunnelDaemon {
  tunnel: NodeTunnel;
  xds: XdsClient;
  certs: CertManager;
  zds: ZdsClient;
  close(): Promise<void>;
}

export const snapshotOf = (s: XdsState): MeshSnapshot => ({
  workloads: [...s.workloads.values()],
  services: [...s.services.values()],
  authorizations: [...s.authorizations.values()],
});

export function startNodeTunnelDaemon(cfg: NodeTunnelDaemonConfig): NodeTunnelDaemon {
  const { log } = cfg;
  const readRoots = (): string => fs.readFileSync(cfg.rootsFile, 'utf8');
  const readToken = (): string => fs.readFileSync(cfg.tokenFile, 'utf8').trim();
  const ca = new CaClient({ address: cfg.controlPlane, rootsPem: readRoots, token: readToken, servername: DEFAULT_CA_SERVERNAME });
  const certs = new CertManager(ca, cfg.certTtlSeconds !== undefined ? { ttlSeconds: cfg.certTtlSeconds } : {});
  certs.on('fetchFailed', (id, e) => log(`certificate for ${id}: ${e.message}`));
  const tunnel = new NodeTunnel({
    snapshot: { workloads: [], services: [], authorizations: [] },
    certificateFor: (id) => certs.get(id),
    trustDomain: cfg.trustDomain,
    manageCaptureRules: false,
  });
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

  const zds = new ZdsClient(cfg.zdsSocket, tunnel, log);
  zds.start();
  return {
    tunnel,
    xds,
    certs,
    zds,
    async close() {
      zds.close();
      await tunnel.close();
      xds.close();
      certs.close();
    },
  };
}
