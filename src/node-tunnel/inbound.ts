// Inbound, in the pod netns: HBONE on 15008 (spec §2.6) and plaintext on 15006 (§2.7), both
// authorized per §5.3 and connected to the app with the client's IP (IP_TRANSPARENT, mark 0x539).
import type net from 'node:net';
import { formatBaggage } from '../dataplane/hbone/baggage.js';
import { formatAuthority } from '../dataplane/hbone/headers.js';
import { HboneServer, type PeerTelemetry } from '../dataplane/hbone/server.js';
import type { WorkloadCertificate } from '../identity/ca-client.js';
import { INPOD_MARK } from '../platform/capture-rules.js';
import { baggageOf, forwardedHost, nextConnectionId, peerMeta, refused, reportOnClose, sourceWorkload, stripV4Mapped, type ConnectionRecord } from '../dataplane/connections.js';
import { pipeBoth } from '../dataplane/copy.js';
import { failure } from '../dataplane/errors.js';
import { authorizeConnection, decisionOf, type InboundDecision, type InboundVerdict } from '../dataplane/inbound-authz.js';
import type { InboundConnection, PodContext } from './pod.js';
import { isIllegalInboundPort } from './route.js';

/** Reports dry-run outcomes once per connection attempt (not on re-checks after a policy change). */
function reportDryRun(ctx: PodContext, d: InboundDecision, c: { srcIp: string; dstPort: number; peerIdentity?: string | undefined }): void {
  for (const o of d.dryRun ?? []) {
    ctx.onDryRun?.({ ...o, pod: ctx.pod.ip, src: stripV4Mapped(c.srcIp), dstPort: c.dstPort, ...(c.peerIdentity !== undefined ? { peerIdentity: c.peerIdentity } : {}), enforced: { allowed: d.allowed, reason: d.reason } });
  }
}

/** §2.6 step 3 (IP authority = this pod) and §5.3 on {src ip, identity, pod ip, target port}, with why it was refused. */
export function inboundVerdict(ctx: PodContext, c: { srcIp: string; dstIp: string; dstPort: number; peerIdentity?: string | undefined }): InboundVerdict {
  if (c.dstIp !== ctx.pod.ip) return { allowed: false, kind: 'DESTINATION_REJECTED', reason: `destination ${c.dstIp} is not this pod (${ctx.pod.ip})` };
  // SelfCall (spec §1): the tunnel's own ports are never an app's; this stops loops and nested HBONE.
  if (isIllegalInboundPort(c.dstPort)) return { allowed: false, kind: 'DESTINATION_REJECTED', reason: `port ${c.dstPort} is a node tunnel port (SelfCall)` };
  const state = ctx.state();
  const dest = state.workloadByIp(ctx.pod.ip);
  if (!dest) return { allowed: false, kind: 'DESTINATION_REJECTED', reason: `unknown local workload ${ctx.pod.ip}` };
  return authorizeConnection(state, dest, c);
}

/** The decision alone (inboundVerdict without the error kind). */
export function authorizeInbound(ctx: PodContext, c: { srcIp: string; dstIp: string; dstPort: number; peerIdentity?: string }): InboundDecision {
  return decisionOf(inboundVerdict(ctx, c));
}

/** Dials the app in the pod netns from the original client's IP. */
export function connectApp(ctx: PodContext, port: number, srcIp: string): net.Socket {
  const s = ctx.sockets.connectFromNetns(ctx.pod.netnsPath, { host: ctx.pod.ip, port, localAddress: stripV4Mapped(srcIp), transparent: true, mark: INPOD_MARK });
  ctx.track(s);
  return s;
}

/**
 * A pod can be enrolled (and receive traffic) a moment before the control plane has pushed its
 * workload; like ztunnel, wait a little for it rather than deny at once (fails closed after).
 */
export const LOCAL_WORKLOAD_WAIT_MS = 5000;

/**
 * The inbound connection record: the peer as seen (IP, mTLS identity; its baggage when our
 * config does not know it) and this pod as the destination.
 */
export function inboundRecord(ctx: PodContext, srcIp: string, port: number, peerIdentity: string | undefined, hboneAddr?: string, service?: string, peer?: PeerTelemetry): ConnectionRecord {
  const state = ctx.state();
  const local = state.workloadByIp(ctx.pod.ip);
  let svc: ConnectionRecord['dst'] = {} as ConnectionRecord['dst'];
  if (service && local) {
    const key = Object.keys(local.services).find((k) => k.endsWith(`/${service}`));
    if (key) {
      const s = state.serviceByHost(key.slice(0, key.indexOf('/')), service);
      if (s) svc = { addr: '', service: s.hostname, serviceName: s.name, serviceNamespace: s.namespace };
    }
  }
  return {
    id: nextConnectionId(),
    direction: 'inbound',
    pod: ctx.pod.ip,
    src: peerMeta(srcIp, sourceWorkload(state, srcIp, local, peer), peerIdentity, peer?.baggage),
    dst: { ...svc, ...peerMeta(`${ctx.pod.ip}:${port}`, local, ctx.identity), ...(hboneAddr ? { hboneAddr } : {}) },
    security: peerIdentity ? 'mutual_tls' : 'unknown',
    startedAt: Date.now(),
  };
}

export function createHboneInbound(ctx: PodContext, certificate: WorkloadCertificate): HboneServer {
  return new HboneServer({
    certificate,
    authorize: async (req) => {
      await ctx.waitForWorkload(ctx.pod.ip, LOCAL_WORKLOAD_WAIT_MS);
      const d = inboundVerdict(ctx, { srcIp: req.srcAddr, dstIp: req.dstAddr, dstPort: req.dstPort, peerIdentity: req.peerIdentity });
      reportDryRun(ctx, d, { srcIp: req.srcAddr, dstPort: req.dstPort, peerIdentity: req.peerIdentity });
      return { allowed: d.allowed, reason: d.reason, ...(d.kind ? { kind: d.kind } : {}) };
    },
    // The 200 says who answered (ztunnel build_response, ENABLE_RESPONSE_BAGGAGE's default).
    responseBaggage: () => {
      const b = baggageOf(ctx.state().workloadByIp(ctx.pod.ip));
      return b ? formatBaggage(b) : undefined;
    },
    connectUpstream: (dst, up) =>
      new Promise<net.Socket>((resolve, reject) => {
        const s = connectApp(ctx, dst.port, up.srcAddr);
        const srcIp = stripV4Mapped(up.srcAddr);
        const rec = inboundRecord(ctx, srcIp, dst.port, up.peerIdentity, formatAuthority(dst.ip, dst.port), forwardedHost(up.headers['forwarded']), up.peer);
        const conn: InboundConnection = { srcIp, dstPort: dst.port, peerIdentity: up.peerIdentity, app: s };
        ctx.trackInbound(conn);
        s.once('connect', () => {
          ctx.connections.opened(rec);
          // From the app socket: what the tunnel wrote to it was sent by the source.
          reportOnClose(ctx.connections, rec, s, () => ({ sent: s.bytesWritten, recv: s.bytesRead }), () => conn.ended);
        });
        const abort = (): void => {
          s.destroy();
          reject(new Error('aborted'));
        };
        up.signal.addEventListener('abort', abort, { once: true });
        s.once('connect', () => (up.signal.removeEventListener('abort', abort), resolve(s)));
        s.once('error', (e) => (up.signal.removeEventListener('abort', abort), reject(e)));
      }),
  });
}

export interface PlaintextEvent {
  pod: string;
  src: string;
  dst: string;
  allowed: boolean;
  reason: string;
}

/** 15006: original destination, authz without identity, then the app. */
export function handlePlaintextInbound(ctx: PodContext, client: net.Socket, onEvent?: (e: PlaintextEvent) => void): void {
  ctx.track(client);
  client.on('error', () => client.destroy());
  let dst: { address: string; port: number };
  try {
    dst = ctx.sockets.originalDst(client);
  } catch {
    client.destroy();
    return;
  }
  const src = stripV4Mapped(client.remoteAddress ?? '');
  client.pause();
  void ctx.waitForWorkload(ctx.pod.ip, LOCAL_WORKLOAD_WAIT_MS).then(() => {
    if (client.destroyed) return;
    const d = inboundVerdict(ctx, { srcIp: src, dstIp: dst.address, dstPort: dst.port });
    reportDryRun(ctx, d, { srcIp: src, dstPort: dst.port });
    onEvent?.({ pod: ctx.pod.ip, src, dst: `${dst.address}:${dst.port}`, allowed: d.allowed, reason: d.reason });
    const rec = inboundRecord(ctx, src, dst.port, undefined);
    rec.src.addr = `${src}:${client.remotePort ?? 0}`;
    if (!d.allowed) {
      ctx.connections.closed(refused(rec, failure(d.kind ?? 'POLICY_DENIED', d.reason)));
      client.destroy();
      return;
    }
    const app = connectApp(ctx, dst.port, src);
    const conn: InboundConnection = { srcIp: src, dstPort: dst.port, app };
    ctx.trackInbound(conn);
    let failed: string | undefined;
    app.once('error', (e) => (failed = e.message));
    app.once('connect', () => ctx.connections.opened(rec));
    reportOnClose(ctx.connections, rec, client, () => ({ sent: client.bytesRead, recv: client.bytesWritten }), () => conn.ended ?? (failed ? failure('UPSTREAM_CONNECT_FAILED', failed) : undefined));
    pipeBoth(client, app);
    client.resume();
  });
}
