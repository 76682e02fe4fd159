// CaAdmin gRPC service (proto/ambit/ca_admin.proto): status, issue, revoke, rotate-root for
// `ambit ca ...` against a running cluster. Admin bearer token only.
// (Skeleton: the signature below is the contract the CA server calls.)
import type * as grpc from '@grpc/grpc-js';
import type { CertificateAuthority } from './authority.js';

export interface AdminServiceDeps {
  authority: CertificateAuthority;
  /** True if the call's `authorization: Bearer` metadata is an admin token. */
  isAdmin(metadata: grpc.Metadata): boolean;
  /** Called after a revocation or root rotation so the CRL / root ConfigMaps are republished. */
  onChange(): Promise<void>;
  log(msg: string): void;
}

export function addAdminService(_server: grpc.Server, _deps: AdminServiceDeps): void {
  // Implemented in the CA administration change.
}
