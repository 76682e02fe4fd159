// Istio's IstioCertificateService (proto/istio/ca.proto) as typed grpc-js definitions, shared
// by the CA client and test servers. keepCase: field names stay as in the proto (cert_chain).
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const CREATE_CERTIFICATE_PATH = '/istio.v1.auth.IstioCertificateService/CreateCertificate';

/** google.protobuf.Value as proto-loader maps it. Struct comes from protobufjs' built-in
 *  JSON descriptors, so its fields are camelCase (stringValue) even with keepCase. */
export interface StructValue {
  stringValue?: string;
  numberValue?: number;
  boolValue?: boolean;
  kind?: string;
}

export interface IstioCertificateRequest {
  csr: string;
  /** Seconds; proto int64, loaded as a JS number. */
  validity_duration: number;
  metadata?: { fields: Record<string, StructValue> } | null;
}

export interface IstioCertificateResponse {
  cert_chain: string[];
}

export type CreateCertificateMethod = grpc.MethodDefinition<IstioCertificateRequest, IstioCertificateResponse>;
export type IstioCertificateServiceDefinition = grpc.ServiceDefinition<{ CreateCertificate: CreateCertificateMethod }>;

// dist/src/identity/ca-proto.js → repository root → proto/
const PROTO_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'proto', 'istio', 'ca.proto');

let cached: IstioCertificateServiceDefinition | undefined;

/** The service definition (loaded once). google/protobuf/struct.proto is built into protobufjs. */
export function istioCertificateService(): IstioCertificateServiceDefinition {
  if (!cached) {
    const pkg = protoLoader.loadSync(PROTO_FILE, { keepCase: true, longs: Number, defaults: true, oneofs: true });
    cached = pkg['istio.v1.auth.IstioCertificateService'] as unknown as IstioCertificateServiceDefinition;
  }
  return cached;
}

/** Reads a string entry of the request's metadata Struct (e.g. ImpersonatedIdentity). */
export function metadataString(req: IstioCertificateRequest, key: string): string | undefined {
  return req.metadata?.fields[key]?.stringValue;
}
