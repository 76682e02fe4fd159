// Messages between the node tunnel's main thread and its data-plane threads (structured clone).
import type { MeshSnapshot } from '../mesh-api/types.js';
import type { WorkloadCertificate } from '../identity/ca-client.js';
import type { NodeTunnelEvents, PodEnrollment } from './tunnel.js';

export interface WorkerInit {
  snapshot: MeshSnapshot;
  trustDomain?: string;
}

export type ToWorker =
  | { type: 'snapshot'; snapshot: MeshSnapshot }
  | { type: 'cert'; cert: WorkloadCertificate }
  | { type: 'certError'; identity: string; error: string }
  | { type: 'revoked'; serials: string[] }
  | { type: 'enroll'; pod: PodEnrollment }
  | { type: 'unenroll'; uid: string }
  | { type: 'drain'; deadlineMs: number }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'needCert'; identity: string }
  | { type: 'event'; name: keyof NodeTunnelEvents; payload: unknown }
  | { type: 'reply'; id: number; result?: unknown; error?: string };
