// Service ports and per-workload target ports (spec §4.4 field 22, §4.5 field 5).
import type { Port } from '../../mesh-api/types.js';
import type { Pod, ServicePort } from '../../model/core/types.js';
import { appProtocolFor, kubePortProtocol, parseProtocol } from './app-protocol.js';
import type { ServiceEntryPortInput, WorkloadEntrySpec } from './inputs.js';

/** UNKNOWN is the wire default and stays implicit. */
const withProtocol = (p: Port, app: Port['appProtocol']): Port => (app && app !== 'UNKNOWN' ? { ...p, appProtocol: app } : p);

/**
 * Service-level port: a named targetPort is 0 (the workload's services map carries the number);
 * app_protocol from appProtocol or the port-name prefix, as istiod derives it.
 */
export function servicePort(sp: ServicePort): Port {
  const target = sp.targetPort === undefined ? sp.port : typeof sp.targetPort === 'number' ? sp.targetPort : 0;
  return withProtocol({ servicePort: sp.port, targetPort: target }, appProtocolFor(kubePortProtocol(sp.port, sp.name, sp.protocol, sp.appProtocol)));
}

/** A pod's target port for one Service port; undefined when a named port is not declared by the pod. */
export function podTargetPort(sp: ServicePort, pod: Pod): number | undefined {
  if (sp.targetPort === undefined) return sp.port;
  if (typeof sp.targetPort === 'number') return sp.targetPort;
  if (/^\d+$/.test(sp.targetPort)) return Number(sp.targetPort);
  for (const c of pod.spec.containers) for (const cp of c.ports ?? []) if (cp.name === sp.targetPort) return cp.containerPort;
  return undefined;
}

/** A WorkloadEntry's target port: its `ports` map overrides by service port name (or named targetPort). */
export function workloadEntryTargetPort(sp: ServicePort, we: WorkloadEntrySpec): number | undefined {
  const byName = sp.name !== undefined ? we.ports?.[sp.name] : undefined;
  if (byName !== undefined) return byName;
  if (typeof sp.targetPort === 'string' && !/^\d+$/.test(sp.targetPort)) return we.ports?.[sp.targetPort];
  return sp.targetPort === undefined ? sp.port : Number(sp.targetPort);
}

/** A ServiceEntry port in a workload's services map (istiod sets no app_protocol there). */
export const serviceEntryPort = (p: ServiceEntryPortInput): Port => ({ servicePort: p.number, targetPort: p.targetPort ?? p.number });

/** A ServiceEntry port on its Service: app_protocol from the port's `protocol` (not its name). */
export const serviceEntryServicePort = (p: ServiceEntryPortInput): Port => withProtocol(serviceEntryPort(p), appProtocolFor(parseProtocol(p.protocol ?? '')));

/** An endpoint's port for a ServiceEntry port: `endpoint.ports[name]`, else the entry's targetPort. */
export const serviceEntryEndpointPort = (p: ServiceEntryPortInput, ep: WorkloadEntrySpec): Port => ({
  servicePort: p.number,
  targetPort: (p.name !== undefined ? ep.ports?.[p.name] : undefined) ?? p.targetPort ?? p.number,
});
