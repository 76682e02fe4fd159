// Outbound (15001, in the pod netns): original destination → route (spec §2.8) → HBONE through
// the pod's pool (next-hop socket made in the pod netns with SO_MARK 0x539) or plain TCP.
import type http2 from 'node:http2';
import type net from 'node:net';
import { keyExchangeGroupOf } from '../dataplane/hbone/client.js';
import type { HbonePool } from '../dataplane/hbone/pool.js';
import { splice } from '../dataplane/hbone/splice.js';
import type { WorkloadCertificate } from '../identity/ca-client.js';
import { INPOD_MARK } from '../platform/capture-rules.js';
import { baggageOf, nextConnectionId, peerMeta, refused, reportOnClose, serviceMeta, type ConnectionRecord } from '../dataplane/connections.js';
import { pipeBoth } from '../dataplane/copy.js';
import { DATAPLANE_ERRORS, DataplaneFailure, errorKindOf, failure, type ResponseFlag } from '../dataplane/errors.js';
import type { PodContext } from './pod.js';
import { routeOutbound, type OutboundRoute } from './route.js';

export interface OutboundEvent {
  pod: string;
  dst: string;
  route: OutboundRoute['kind'];
  error?: string;
}

export interface OutboundContext extends PodContext {
  pool: HbonePool;
  /** The source pod's own certificate. */
  certificate(): Promise<WorkloadCertificate>;
  onEvent?(e: OutboundEvent): void;
}

/** ztunnel's response flag for a failed outbound attempt (spec §8.1), from the error table. */
export function flagFor(e: unknown): ResponseFlag {
  return DATAPLANE_ERRORS[errorKindOf(e)].flag;
}

export function handleOutbound(ctx: OutboundContext, client: net.Socket): void {
  ctx.track(client);
  client.on('error', () => client.destroy());
  let dst: { address: string; port: number };
  try {
    dst = ctx.sockets.originalDst(client);
  } catch (e) {
    ctx.onEvent?.({ pod: ctx.pod.ip, dst: '?', route: 'fail', error: (e as Error).message });
    client.destroy();
    return;
  }
  const state = ctx.state();
  const srcWorkload = state.workloadByIp(ctx.pod.ip);
  const route = routeOutbound(state, dst.address, dst.port, srcWorkload);
  const event = (error?: string): void => ctx.onEvent?.({ pod: ctx.pod.ip, dst: `${dst.address}:${dst.port}`, route: route.kind, ...(error ? { error } : {}) });
  const rec: ConnectionRecord = {
    id: nextConnectionId(),
    direction: 'outbound',
    pod: ctx.pod.ip,
    src: peerMeta(`${ctx.pod.ip}:${client.remotePort ?? 0}`, srcWorkload, ctx.identity),
    dst: { addr: `${dst.address}:${dst.port}` },
    security: 'unknown',
    startedAt: Date.now(),
  };
  // From the app's socket: what it wrote was sent, what it was given was received.
  const counts = (): { sent: number; recv: number } => ({ sent: client.bytesRead, recv: client.bytesWritten });
  if (route.kind === 'fail') {
    event(route.reason);
    ctx.connections.closed(refused(rec, failure(route.error, route.reason)));
    client.destroy();
    return;
  }
  if (route.kind === 'tcp') {
    // In-pod the socket already lives in the pod netns: the source is the pod's own IP.
    const up = ctx.sockets.connectFromNetns(ctx.pod.netnsPath, { host: route.host, port: route.port, mark: INPOD_MARK });
    ctx.track(up);
    const r: ConnectionRecord = { ...rec, dst: peerMeta(`${route.host}:${route.port}`, route.workload) };
    let failed: string | undefined;
    up.once('connect', () => ctx.connections.opened(r));
    up.once('error', (e) => (failed = e.message));
    reportOnClose(ctx.connections, r, client, counts, () => (failed ? failure('UPSTREAM_CONNECT_FAILED', failed) : undefined));
    pipeBoth(client, up);
    event();
    return;
  }
  let r: ConnectionRecord = {
    ...rec,
    dst: { ...peerMeta(route.nextHop, route.workload, route.expectedIdentity), hboneAddr: route.authority, ...serviceMeta(route.service) },
    security: 'mutual_tls',
  };
  void (async () => {
    let stream;
    try {
      stream = await ctx.pool.connect({
        dst: route.authority,
        nextHop: route.nextHop,
        certificate: await ctx.certificate().catch((e: Error) => {
          throw new DataplaneFailure('NO_CERTIFICATE', `no certificate for ${ctx.identity}: ${e.message}`);
        }),
        expectedIdentities: route.expectedIdentities,
        srcIp: ctx.pod.ip,
        forwardedFor: { ip: ctx.pod.ip, port: client.remotePort ?? 0 },
        ...(route.service ? { forwardedHost: route.service.hostname } : {}),
        ...(srcWorkload ? { baggage: baggageOf(srcWorkload) } : {}),
      });
    } catch (e) {
      event((e as Error).message);
      ctx.connections.closed(refused(r, failure(errorKindOf(e), (e as Error).message), Date.now() - r.startedAt));
      client.destroy();
      return;
    }
    if (client.destroyed) {
      stream.close();
      return;
    }
    const group = keyExchangeGroupOf(stream.session as http2.ClientHttp2Session);
    if (group) r = { ...r, tlsGroup: group };
    ctx.connections.opened(r);
    reportOnClose(ctx.connections, r, client, counts);
    splice(stream, client);
    event();
  })();
}
