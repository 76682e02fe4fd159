// Readiness probes, run from the node's namespace toward the pod IP (as kubelet probes
// from the host). Short-lived curl/bash processes keep the agent free of setns calls.
import { spawn } from 'node:child_process';
import type { Container, Probe } from '../../model/core/types.js';

export function resolveProbePort(port: number | string, c: Container): number | undefined {
  if (typeof port === 'number') return port;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

function runQuiet(argv: string[], timeoutMs: number): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 500);
    child.on('error', () => resolve({ code: 127, out }));
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code: code ?? 1, out });
    });
  });
}

/** Returns undefined on success, or the reason the probe failed. */
export async function runProbe(nodeNetns: string, podIP: string, probe: Probe, c: Container): Promise<string | undefined> {
  const timeoutS = probe.timeoutSeconds ?? 1;
  if (probe.httpGet) {
    const port = resolveProbePort(probe.httpGet.port, c);
    if (port === undefined) return `probe port ${String(probe.httpGet.port)} is not a named port of the container`;
    const url = `http://${podIP}:${port}${probe.httpGet.path ?? '/'}`;
    const r = await runQuiet(['ip', 'netns', 'exec', nodeNetns, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', String(timeoutS), url], timeoutS * 1000);
    const code = Number(r.out.trim());
    if (code >= 200 && code < 400) return undefined;
    return r.code !== 0 && !code ? `HTTP probe ${url}: connection failed` : `HTTP probe ${url}: status ${r.out.trim()}`;
  }
  if (probe.tcpSocket) {
    const port = resolveProbePort(probe.tcpSocket.port, c);
    if (port === undefined) return `probe port ${String(probe.tcpSocket.port)} is not a named port of the container`;
    const r = await runQuiet(['ip', 'netns', 'exec', nodeNetns, 'timeout', String(timeoutS), 'bash', '-c', `exec 3<>/dev/tcp/${podIP}/${port}`], timeoutS * 1000);
    return r.code === 0 ? undefined : `TCP probe ${podIP}:${port}: connection failed`;
  }
  return 'probe has neither httpGet nor tcpSocket';
}
