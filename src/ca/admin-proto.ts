// Loads proto/ambit/ca_admin.proto (keepCase: field names stay snake_case as on the wire) for
// both the CaAdmin server and the `ambit ca` client, and the message shapes they exchange.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const CA_ADMIN_SERVICE = 'ambit.ca.v1.CaAdmin';

/** Finds a file under the repository's proto/ dir from src/ or dist/src/ alike. */
export function protoFile(rel: string): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = path.join(dir, 'proto', rel);
    if (fs.existsSync(p)) return p;
    dir = path.dirname(dir);
  }
  throw new Error(`proto file ${rel} not found above ${fileURLToPath(import.meta.url)} (is the proto/ folder installed?)`);
}

let cached: grpc.ServiceDefinition | undefined;

export function caAdminDefinition(): grpc.ServiceDefinition {
  if (cached) return cached;
  const pkg = protoLoader.loadSync(protoFile('ambit/ca_admin.proto'), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const def = pkg[CA_ADMIN_SERVICE];
  if (!def || !('Status' in def)) throw new Error(`${CA_ADMIN_SERVICE} missing from ca_admin.proto`);
  cached = def as grpc.ServiceDefinition;
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
