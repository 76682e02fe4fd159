// Loads Istio's certificate API (proto/istio/ca.proto) for @grpc/grpc-js, with the message
// shapes as proto-loader delivers them (keepCase: field names as in the .proto).
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** The repository's proto/ folder (this file runs from dist/src/ca/). */
export const PROTO_DIR = fileURLToPath(new URL('../../../proto', import.meta.url));

export const CREATE_CERTIFICATE_PATH = '/istio.v1.auth.IstioCertificateService/CreateCertificate';

/**
 * google.protobuf.Value. protobufjs serves the well-known Struct types from its built-in
 * copy, which names fields in camelCase whatever keepCase says; accept both spellings.
 */
export interface PbValue {
  stringValue?: string;
  string_value?: string;
  kind?: string;
}

export interface IstioCertificateRequest {
  csr: string;
  validity_duration: number;
  metadata: { fields?: Record<string, PbValue | undefined> } | null;
}

export interface IstioCertificateResponse {
  cert_chain: string[];
}

export function loadIstioCaService(): grpc.ServiceDefinition {
  const def = protoLoader.loadSync(path.join(PROTO_DIR, 'istio', 'ca.proto'), {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [PROTO_DIR],
  });
  const svc = def['istio.v1.auth.IstioCertificateService'];
  if (!svc || !('CreateCertificate' in svc)) throw new Error(`${PROTO_DIR}istio/ca.proto does not define istio.v1.auth.IstioCertificateService`);
  return svc as grpc.ServiceDefinition;
}

export function stringValue(v: PbValue | undefined): string | undefined {
  const s = v?.string_value ?? v?.stringValue;
  return typeof s === 'string' ? s : undefined;
}
