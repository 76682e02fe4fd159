// Loads proto/ambit/ca_admin.proto (keepCase: field names stay snake_case as on the wire) for
// both the CaAdmin server and the `ambit ca` client, and the message shapes they exchange.
import type * as grpc from '@grpc/grpc-js';
import { loadGrpcService } from '../lib/proto.js';

export const CA_ADMIN_SERVICE = 'ambit.ca.v1.CaAdmin';

let cached: grpc.ServiceDefinition | undefined;

export function caAdminDefinition(): grpc.ServiceDefinition {
  if (cached) return cached;
  cached = loadGrpcService('ambit/ca_admin.proto', CA_ADMIN_SERVICE, String);
  return cached;
}

// Wire shapes (keepCase, int64 as decimal strings on the way out of the loader).
export interface CertSummary {
  subject: string;
  fingerprint_sha256: string;
  not_after: string;
}
export interface StatusResponse {
  mode: string;
  trust_domain: string;
  roots: CertSummary[];
  signing: CertSummary | null;
  issued: string | number;
  revoked: string | number;
}
export interface IssueRequest {
  identity: string;
  ttl_seconds: string | number;
}
export interface IssueResponse {
  cert_chain_pem: string;
  key_pem: string;
  root_pem: string;
  serial: string;
}
export interface RevokeRequest {
  serial: string;
  identity: string;
}
export interface RevokeResponse {
  serials: string[];
  crl_pem: string;
}
export interface RotateRootResponse {
  status: StatusResponse | null;
}
