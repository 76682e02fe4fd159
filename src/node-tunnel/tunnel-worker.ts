// One data-plane thread of a multi-core node tunnel (node/workers.ts): a NodeTunnel of its own
// whose listeners share each pod's ports with the other threads through SO_REUSEPORT, so the
// kernel spreads new connections over the threads. Config and certificates come from the main
// thread; events go back to it. Certificates are cached here so a connection costs no round trip.
import { parentPort, workerData } from 'node:worker_threads';
import type { WorkloadCertificate } from '../identity/ca-client.js';
import { NodeTunnel, type NodeTunnelEvents } from './tunnel.js';
import type { ToWorker, WorkerInit } from './worker-protocol.js';

const port = parentPort!;
const init = workerData as WorkerInit;
const certs = new Map<string, WorkloadCertificate>();
const pendingCerts = new Map<string, { resolve(c: WorkloadCertificate): void; reject(e: Error): void }[]>();

/** A cached certificate is used until 10 s before it expires; then the main thread is asked. */
const fresh = (c: WorkloadCertificate | undefined): c is WorkloadCertificate => !!c && c.notAfter.getTime() - Date.now() > 10_000;

function certificateFor(identity: string): WorkloadCertificate | Promise<WorkloadCertificate> {
  const c = certs.get(identity);
  if (fresh(c)) return c;
  return new Promise((resolve, reject) => {
    const waiting = pendingCerts.get(identity);
    if (waiting) return void waiting.push({ resolve, reject });
    pendingCerts.set(identity, [{ resolve, reject }]);
    port.postMessage({ type: 'needCert', identity });
  });
}

const tunnel = new NodeTunnel({ snapshot: init.snapshot, certificateFor, trustDomain: init.trustDomain, manageCaptureRules: false });
const EVENTS: (keyof NodeTunnelEvents)[] = ['inbound', 'outbound', 'plaintext', 'revoked', 'dryRun', 'connectionOpened', 'connectionClosed', 'certRevoked'];
for (const name of EVENTS) tunnel.on(name, (payload: unknown) => port.postMessage({ type: 'event', name, payload }));

async function handle(m: ToWorker): Promise<unknown> {
  switch (m.type) {
    case 'snapshot':
      tunnel.setSnapshot(m.snapshot);
      return undefined;
    case 'cert': {
      certs.set(m.cert.identity, m.cert);
      tunnel.updateCertificate(m.cert);
      for (const w of pendingCerts.get(m.cert.identity) ?? []) w.resolve(m.cert);
      pendingCerts.delete(m.cert.identity);
      return undefined;
    }
    case 'revoked':
      tunnel.setRevoked(new Set(m.serials));
      return undefined;
    case 'certError':
      for (const w of pendingCerts.get(m.identity) ?? []) w.reject(new Error(m.error));
      pendingCerts.delete(m.identity);
      return undefined;
    case 'enroll':
      await tunnel.enroll(m.pod);
      return tunnel.pods().find((p) => p.uid === (m.pod.uid ?? m.pod.ip));
    case 'unenroll':
      return tunnel.unenroll(m.uid);
    case 'drain':
      return tunnel.drain(m.deadlineMs);
    case 'close':
      return tunnel.close();
  }
}

port.on('message', (m: ToWorker & { id?: number }) => {
  handle(m).then(
    (result) => m.id !== undefined && port.postMessage({ type: 'reply', id: m.id, result }),
    (e: Error) => m.id !== undefined && port.postMessage({ type: 'reply', id: m.id, error: e.message }),
  );
});
port.postMessage({ type: 'ready' });
