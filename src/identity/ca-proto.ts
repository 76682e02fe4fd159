// Istio's IstioCertificateService (proto/istio/ca.proto) as typed grpc-js definitions: the one
// loading of ca.proto, shared by the CA server (src/ca/), the CA client and test servers.
// keepCase: field names stay as in the proto (cert_chain).
import type * as grpc from '@grpc/grpc-js';
import { loadGrpcService, structString, type PbStruct } from '../lib/proto.js';

export const CREATE_CERTIFICATE_PATH = '/istio.v1.auth.IstioCertificateService/CreateCertificate';

export interface IstioCertificateRequest {
  csr: string;
  /** Seconds; proto int64, loaded as a JS number. */
  validity_duration: number;
  metadata?: PbStruct | null;
}

export interface IstioCertificateResponse {
  cert_chain: string[];
}

export type CreateCertificateMethod = grpc.MethodDefinition<IstioCertificateRequest, IstioCertificateResponse>;
export type IstioCertificateServiceDefinition = grpc.ServiceDefinition<{ CreateCertificate: CreateCertificateMethod }>;

let cached: IstioCertificateServiceDefinition | undefined;

/** The service definition (loaded once). google/protobuf/struct.proto is built into protobufjs. */
export function istioCertificateService(): IstioCertificateServiceDefinition {
  cached ??= loadGrpcService('istio/ca.proto', 'istio.v1.auth.IstioCertificateService') as IstioCertificateServiceDefinition;
  return cached;
}

/** Reads a string entry of the request's metadata Struct (e.g. ImpersonatedIdentity). */
export function metadataString(req: IstioCertificateRequest | null | undefined, key: string): string | undefined {
  return structString(req?.metadata, key);
}
