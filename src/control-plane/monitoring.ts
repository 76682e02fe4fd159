// The control plane's monitoring port (istiod's 15014): Prometheus text on GET /metrics.
// Loopback only and unauthenticated, like istiod's: counters carry no secrets.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROMETHEUS_CONTENT_TYPE, type MetricsRegistry } from '../lib/metrics.js';
import { CONTROL_PLANE_MONITORING_PORT } from '../mesh-api/ports.js';

export const DEFAULT_METRICS_PORT = CONTROL_PLANE_MONITORING_PORT;

export interface MonitoringServer {
  port: number;
  close(): Promise<void>;
}

export async function startMonitoring(registry: MetricsRegistry, port: number, host = '127.0.0.1'): Promise<MonitoringServer> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/metrics') {
      res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
      res.end(registry.render());
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: the monitoring port serves GET /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`cannot listen on ${host}:${port} for /metrics: ${e.message} (pick another metrics port)`)));
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
