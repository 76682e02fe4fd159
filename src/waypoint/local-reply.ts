// The waypoint's own answers, as Envoy gives them (waypoint-spec §2.9): status, response flag
// and body; for gRPC requests a trailers-only response with the mapped grpc-status. Pure.

/** Envoy's short flags; several are joined with a comma (`UF,URX`: connect failures, retries exhausted). */
export type ResponseFlag = '-' | 'NR' | 'UH' | 'UF' | 'UT' | 'UC' | 'UF,URX' | 'NC' | 'DC' | 'DPE';

export interface LocalReply {
  status: number;
  flag: ResponseFlag;
  body: string;
  /** RESPONSE_CODE_DETAILS for the access log. */
  details: string;
}

export const LOCAL_REPLIES = {
  NR: { status: 404, flag: 'NR', body: '', details: 'route_not_found' },
  UH: { status: 503, flag: 'UH', body: 'no healthy upstream', details: 'no_healthy_upstream' },
  UF: { status: 503, flag: 'UF', body: 'upstream connect error or disconnect/reset before headers. reset reason: connection failure', details: 'upstream_reset_before_response_started{connection_failure}' },
  URX: { status: 503, flag: 'UF,URX', body: 'upstream connect error or disconnect/reset before headers. retried and the latest reset reason: connection failure', details: 'upstream_reset_before_response_started{connection_failure}' },
  UC: { status: 503, flag: 'UC', body: 'upstream connect error or disconnect/reset before headers. reset reason: connection termination', details: 'upstream_reset_before_response_started{connection_termination}' },
  UT: { status: 504, flag: 'UT', body: 'upstream request timeout', details: 'upstream_response_timeout' },
  NC: { status: 500, flag: 'NC', body: '', details: 'cluster_not_found' },
  NO_BACKENDS: { status: 500, flag: '-', body: '', details: 'direct_response' },
  BAD_REQUEST: { status: 400, flag: 'DPE', body: 'Bad Request', details: 'http1.codec_error' },
} as const satisfies Record<string, LocalReply>;

/** Envoy's HTTP → gRPC status mapping for local replies (Grpc::Utility::httpToGrpcStatus). */
export function grpcStatusOf(http: number): number {
  switch (http) {
    case 400:
      return 13;
    case 401:
      return 16;
    case 403:
      return 7;
    case 404:
      return 12;
    case 429:
    case 502:
    case 503:
    case 504:
      return 14;
    default:
      return 2;
  }
}

export const isGrpc = (contentType: string | string[] | undefined): boolean => String(contentType ?? '').startsWith('application/grpc');
