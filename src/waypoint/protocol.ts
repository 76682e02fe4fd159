// Which protocol a waypoint chain speaks (waypoint-spec §2.4): the Service port's appProtocol
// when it says HTTP/HTTP2/gRPC/TCP, else sniffed from the first bytes like Envoy's
// http_inspector. Pure.
import type { AppProtocol } from '../mesh-api/types.js';

export type ChainProtocol = 'http1' | 'http2' | 'tcp';

/** From the port alone; undefined means "sniff". */
export function declaredProtocol(p: AppProtocol | undefined): ChainProtocol | undefined {
  switch (p) {
    case 'HTTP11':
      return 'http1';
    case 'HTTP2':
    case 'GRPC':
      return 'http2';
    case 'TCP':
    case 'TLS':
      return 'tcp';
    default:
      return undefined;
  }
}

const H2_PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
/** An HTTP/1.x request line's start: a method token and a space. */
const H1_START = /^[A-Z][A-Z-]{0,19} /;

/** From the first bytes the client sent: the h2 preface, an HTTP/1 request start, else TCP. */
export function sniffProtocol(first: Buffer): ChainProtocol {
  const s = first.subarray(0, H2_PREFACE.length).toString('latin1');
  if (s.startsWith('PRI ') && H2_PREFACE.startsWith(s)) return 'http2';
  return H1_START.test(s) ? 'http1' : 'tcp';
}
