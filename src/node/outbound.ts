// Outbound (15001, in the pod netns): original destination → route (spec §2.8) → HBONE through
// the pod's pool (next-hop socket made in the pod netns with SO_MARK 0x539) or plain TCP.
import type net from 'node:net';
import type { HbonePool } from '../hbone/pool.js';
import { splice } from '../hbone/splice.js';
import type { WorkloadCertificate } from '../identity/ca-client.js';
import { INPOD_MARK } from '../platform/capture-rules.js';
import { pipeBoth, type PodContext } from './pod.js';
import { routeOutbound, type OutboundRoute } from './state.js';

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
  const route = routeOutbound(state, dst.address, dst.port, state.workloadByIp(ctx.pod.ip));
  const event = (error?: string): void => ctx.onEvent?.({ pod: ctx.pod.ip, dst: `${dst.address}:${dst.port}`, route: route.kind, ...(error ? { error } : {}) });
  if (route.kind === 'fail') {
    event(route.reason);
    client.destroy();
    return;
  }
  if (route.kind === 'tcp') {
    // In-pod the socket already lives in the pod netns: the source is the pod's own IP.
    const up = ctx.sockets.connectFromNetns(ctx.pod.netnsPath, { host: route.host, port: route.port, mark: INPOD_MARK });
    ctx.track(up);
    pipeBoth(client, up);
    event();
    return;
  }
  void (async () => {
    try {
      const stream = await ctx.pool.connect({
        dst: route.authority,
        nextHop: route.nextHop,
        certificate: await ctx.certificate(),
        expectedIdentities: route.expectedIdentities,
        srcIp: ctx.pod.ip,
        forwardedFor: `${ctx.pod.ip}:${client.remotePort ?? 0}`,
        ...(route.service ? { forwardedHost: route.service.hostname } : {}),
      });
      if (client.destroyed) {
        stream.close();
        return;
      }
      splice(stream, client);
      event();
    } catch (e) {
      event((e as Error).message);
      client.destroy();
    }
  })();
}
