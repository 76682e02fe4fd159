// Port protocol → workloadapi.AppProtocol, as istiod derives it (facts from istio/istio at
// 86c9f01f: pkg/config/protocol/instance.go Parse, pkg/config/kube/conversion.go
// ConvertProtocol, pilot/pkg/serviceregistry/ambient toAppProtocolFromProtocol). Kubernetes
// Services use appProtocol, else the port-name prefix; ServiceEntries use the port's protocol.
import type { AppProtocol } from '../../mesh-api/types.js';

/** Istio's protocol names; 'UnsupportedProtocol' is anything it does not recognise. */
export type IstioProtocol = 'TCP' | 'UDP' | 'GRPC' | 'GRPC-Web' | 'HTTP' | 'HTTP_PROXY' | 'HTTP2' | 'HTTPS' | 'TLS' | 'Mongo' | 'Redis' | 'MySQL' | 'UnsupportedProtocol';

const BY_LOWER: Record<string, IstioProtocol> = {
  tcp: 'TCP',
  udp: 'UDP',
  grpc: 'GRPC',
  'grpc-web': 'GRPC-Web',
  http: 'HTTP',
  http_proxy: 'HTTP_PROXY',
  http2: 'HTTP2',
  https: 'HTTPS',
  tls: 'TLS',
  mongo: 'Mongo',
  redis: 'Redis',
  mysql: 'MySQL',
};

/** Case-insensitive protocol name (Istio's protocol.Parse). */
export const parseProtocol = (s: string): IstioProtocol => (Object.hasOwn(BY_LOWER, s.toLowerCase()) ? (BY_LOWER[s.toLowerCase()] as IstioProtocol) : 'UnsupportedProtocol');

/** SMTP, DNS, MySQL, MongoDB: TCP when nothing else says otherwise. */
const WELL_KNOWN_TCP_PORTS = new Set([25, 53, 3306, 27017]);

/**
 * A Kubernetes Service port's protocol (Istio's kube ConvertProtocol): UDP wins; then
 * appProtocol (with Kubernetes' standard `kubernetes.io/*` names) or the port name, up to its
 * first '-' ('grpc-web' is matched whole first); an unrecognised name on a well-known port is TCP.
 */
export function kubePortProtocol(port: number, portName: string | undefined, proto: string | undefined, appProtocol: string | undefined): IstioProtocol {
  if (proto === 'UDP') return 'UDP';
  let name = portName ?? '';
  if (appProtocol !== undefined) {
    name = appProtocol;
    if (name === 'kubernetes.io/h2c') return 'HTTP2';
    if (name === 'kubernetes.io/ws') return 'HTTP';
    if (name === 'kubernetes.io/wss') return 'HTTPS';
  }
  if (name.slice(0, 'grpc-web'.length).toLowerCase() === 'grpc-web') return 'GRPC-Web';
  const dash = name.indexOf('-');
  const p = parseProtocol(dash >= 0 ? name.slice(0, dash) : name);
  return p === 'UnsupportedProtocol' && WELL_KNOWN_TCP_PORTS.has(port) ? 'TCP' : p;
}

/** istiod's protocol → AppProtocol; everything else (gRPC-Web, UDP, Mongo, …) is UNKNOWN. */
export function appProtocolFor(p: IstioProtocol): AppProtocol {
  switch (p) {
    case 'HTTP':
      return 'HTTP11';
    case 'HTTP2':
      return 'HTTP2';
    case 'GRPC':
      return 'GRPC';
    case 'TLS':
    case 'HTTPS':
      return 'TLS';
    case 'TCP':
      return 'TCP';
    default:
      return 'UNKNOWN';
  }
}
