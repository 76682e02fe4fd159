// Every data-plane failure, one table: what each proxy records and answers for it. The node
// tunnel records `flag` (ztunnel's L4 response flag, spec §8.1) and its HBONE server answers
// `hboneStatus` (§2.5); the waypoint answers `httpStatus` with `message` and records `httpFlag`
// (Envoy's short response flag). `code` is the stable AMBIT_E_* string (docs/errors.md format).
// Pure.
import { HboneError } from './hbone/client.js';
import { IdentityMismatchError } from './hbone/tls.js';

/** ztunnel's response flags (spec §8.1); '-' means none. */
export type ResponseFlag = '-' | 'DENY' | 'CONNECT' | 'TLS_FAILURE' | 'H2_HANDSHAKE_FAILURE' | 'NETWORK_POLICY' | 'IDENTITY_ERROR' | 'CERT_REVOKED';

/** Envoy's short response flags a waypoint records (RBAC: Envoy's flag for an RBAC denial). */
export type HttpResponseFlag = 'NR' | 'UH' | 'UF' | 'UT' | 'UO' | 'FI' | 'RBAC' | 'DC';

export interface DataplaneError {
  /** ztunnel's L4 flag the node tunnel records. */
  flag: Exclude<ResponseFlag, '-'>;
  /** What an HBONE server answers the CONNECT with. */
  hboneStatus: number;
  /** What a waypoint answers an HTTP request with ('fault': the injected fault's own status). */
  httpStatus: number | 'fault';
  httpFlag: HttpResponseFlag;
  code: `AMBIT_E_${string}`;
  /** The short description (the waypoint's response body for the kinds it answers itself). */
  message: string;
}

export const DATAPLANE_ERRORS = {
  /** An AuthorizationPolicy denied it (DENY match, or ALLOWs exist and none matched). */
  POLICY_DENIED: { flag: 'DENY', hboneStatus: 401, httpStatus: 403, httpFlag: 'RBAC', code: 'AMBIT_E_POLICY_DENIED', message: 'RBAC: access denied' },
  /**
   * Inbound refused before policy: the destination is not this pod, the local workload is not
   * in the config, the target is a tunnel port (SelfCall), or the peer is not a workload
   * identity. Answered like a denial (401, DENY), as it always was here.
   */
  DESTINATION_REJECTED: { flag: 'DENY', hboneStatus: 401, httpStatus: 403, httpFlag: 'RBAC', code: 'AMBIT_E_DESTINATION_REJECTED', message: 'destination rejected' },
  /** A malformed CONNECT: not CONNECT, extended CONNECT, bad authority, authority ≠ listener address. */
  BAD_TUNNEL_REQUEST: { flag: 'CONNECT', hboneStatus: 400, httpStatus: 400, httpFlag: 'DC', code: 'AMBIT_E_BAD_TUNNEL_REQUEST', message: 'bad tunnel request' },
  /** Outbound to the tunnel's own port on loopback (SelfCall). */
  SELF_CALL: { flag: 'CONNECT', hboneStatus: 400, httpStatus: 503, httpFlag: 'UF', code: 'AMBIT_E_SELF_CALL', message: 'connection to the proxy itself' },
  /** No route (waypoint: no route matches the request). */
  NO_ROUTE: { flag: 'CONNECT', hboneStatus: 503, httpStatus: 404, httpFlag: 'NR', code: 'AMBIT_E_NO_ROUTE', message: 'no route' },
  /** The service has no healthy endpoint the load balancing allows. */
  NO_HEALTHY_UPSTREAM: { flag: 'CONNECT', hboneStatus: 503, httpStatus: 503, httpFlag: 'UH', code: 'AMBIT_E_NO_HEALTHY_UPSTREAM', message: 'no healthy upstream' },
  /** The destination requires a waypoint that cannot be resolved (fail closed). */
  WAYPOINT_UNAVAILABLE: { flag: 'CONNECT', hboneStatus: 503, httpStatus: 503, httpFlag: 'UH', code: 'AMBIT_E_WAYPOINT_UNAVAILABLE', message: 'waypoint unavailable' },
  /** The TCP connect to the upstream (app, next hop) failed or reset. */
  UPSTREAM_CONNECT_FAILED: { flag: 'CONNECT', hboneStatus: 503, httpStatus: 503, httpFlag: 'UF', code: 'AMBIT_E_UPSTREAM_CONNECT_FAILED', message: 'upstream connect error or disconnect/reset before headers' },
  /** The upstream did not connect (or answer) in time. */
  UPSTREAM_TIMEOUT: { flag: 'CONNECT', hboneStatus: 504, httpStatus: 504, httpFlag: 'UT', code: 'AMBIT_E_UPSTREAM_TIMEOUT', message: 'upstream request timeout' },
  /** A circuit breaker (connection/request limit) refused it. */
  UPSTREAM_OVERFLOW: { flag: 'CONNECT', hboneStatus: 503, httpStatus: 503, httpFlag: 'UO', code: 'AMBIT_E_UPSTREAM_OVERFLOW', message: 'upstream overflow' },
  /** A configured fault aborted it (status: the fault's). */
  FAULT_INJECTED: { flag: 'CONNECT', hboneStatus: 503, httpStatus: 'fault', httpFlag: 'FI', code: 'AMBIT_E_FAULT_INJECTED', message: 'fault filter abort' },
  /** The next hop answered the CONNECT with a non-200, non-401 status. */
  TUNNEL_REFUSED: { flag: 'CONNECT', hboneStatus: 503, httpStatus: 503, httpFlag: 'UF', code: 'AMBIT_E_TUNNEL_REFUSED', message: 'tunnel refused by the next hop' },
  /** mTLS to the next hop failed, or it is not the identity expected. */
  TLS_FAILURE: { flag: 'TLS_FAILURE', hboneStatus: 503, httpStatus: 503, httpFlag: 'UF', code: 'AMBIT_E_TLS_FAILURE', message: 'upstream TLS failure' },
  /** The peer's certificate is on the CA's revocation list. */
  CERT_REVOKED: { flag: 'CERT_REVOKED', hboneStatus: 401, httpStatus: 503, httpFlag: 'UF', code: 'AMBIT_E_CERT_REVOKED', message: 'peer certificate revoked' },
  /** This proxy has no certificate for the source identity. */
  NO_CERTIFICATE: { flag: 'IDENTITY_ERROR', hboneStatus: 503, httpStatus: 503, httpFlag: 'UF', code: 'AMBIT_E_NO_CERTIFICATE', message: 'no workload certificate' },
} as const satisfies Record<string, DataplaneError>;

export type DataplaneErrorKind = keyof typeof DATAPLANE_ERRORS;

export const dataplaneError = (kind: DataplaneErrorKind): DataplaneError => DATAPLANE_ERRORS[kind];

/** What a connection record carries for a failure of this kind. */
export function failure(kind: DataplaneErrorKind, error: string): { flag: Exclude<ResponseFlag, '-'>; code: string; error: string } {
  const e = DATAPLANE_ERRORS[kind];
  return { flag: e.flag, code: e.code, error };
}

/** The kind behind an HBONE status a next hop (or our own server) answered. */
export function kindOfHboneStatus(status: number): DataplaneErrorKind {
  if (status === 401) return 'POLICY_DENIED';
  if (status === 400) return 'BAD_TUNNEL_REQUEST';
  if (status === 504) return 'UPSTREAM_TIMEOUT';
  return 'TUNNEL_REFUSED';
}

/** An Error that says which kind it is (thrown where the kind is known, read by errorKindOf). */
export class DataplaneFailure extends Error {
  constructor(
    readonly kind: DataplaneErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'DataplaneFailure';
  }
}

/** The kind of a failed outbound attempt (HBONE dial, CONNECT answer, TCP connect). */
export function errorKindOf(e: unknown): DataplaneErrorKind {
  if (e instanceof DataplaneFailure) return e.kind;
  if (e instanceof HboneError) {
    if (e.status !== undefined) return kindOfHboneStatus(e.status);
    if (e.code === 'CERT_REVOKED') return 'CERT_REVOKED';
    if (e.code === 'TLS') return 'TLS_FAILURE';
    if (e.code === 'CONNECT_TIMEOUT') return 'UPSTREAM_TIMEOUT';
    return 'UPSTREAM_CONNECT_FAILED';
  }
  if (e instanceof IdentityMismatchError) return 'TLS_FAILURE';
  return 'UPSTREAM_CONNECT_FAILED';
}
