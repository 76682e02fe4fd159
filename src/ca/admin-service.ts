// CaAdmin gRPC service (proto/ambit/ca_admin.proto): status, issue, revoke, rotate-root for
// `ambit ca ...` against a running cluster. Admin bearer token only; every call is logged
// (identities and serials, never keys).
import * as grpc from '@grpc/grpc-js';
import { CA_ERROR_CODES, CaError, DEFAULT_TTL_S, MAX_TTL_S, type CaStatus, type CertificateAuthority } from './authority.js';
import { caAdminDefinition, type IssueRequest, type IssueResponse, type RevokeRequest, type RevokeResponse, type RotateRootResponse, type StatusResponse } from './admin-proto.js';
import { createCsr, exportPrivateKeyPem, generateKeyPair } from '../identity/x509.js';

export interface AdminServiceDeps {
  authority: CertificateAuthority;
  /** True if the call's `authorization: Bearer` metadata is an admin token. */
  isAdmin(metadata: grpc.Metadata): boolean;
  /** Called after a revocation or root rotation so the CRL / root ConfigMaps are republished. */
  onChange(): Promise<void>;
  log(msg: string): void;
}

/** A gRPC error with a status code (what grpc-js sends back to the caller). */
export class StatusError extends Error implements Partial<grpc.StatusObject> {
  constructor(readonly code: grpc.status, readonly details: string) {
    super(details);
  }
}

export function toWireStatus(s: CaStatus): StatusResponse {
  const sum = (c: CaStatus['signing']): StatusResponse['roots'][number] => ({ subject: c.subject, fingerprint_sha256: c.fingerprintSha256, not_after: c.notAfter });
  return { mode: s.mode, trust_domain: s.trustDomain, roots: s.roots.map(sum), signing: sum(s.signing), issued: s.issued, revoked: s.revoked };
}

/** Maps CA errors to gRPC codes: caller mistakes are INVALID_ARGUMENT / NOT_FOUND, not INTERNAL. */
function toStatusError(e: unknown): StatusError {
  if (e instanceof StatusError) return e;
  if (e instanceof CaError) {
    const code = e.code === 'NOT_FOUND' ? grpc.status.NOT_FOUND : e.code === 'CA_FILES' ? grpc.status.FAILED_PRECONDITION : grpc.status.INVALID_ARGUMENT;
    return new StatusError(code, `${CA_ERROR_CODES[e.code]}: ${e.message}`);
  }
  return new StatusError(grpc.status.INTERNAL, `AMBIT_E_CA_INTERNAL: CA internal error: ${(e as Error).message}`);
}

export function checkTtl(ttl: number): number {
  if (!Number.isFinite(ttl) || !Number.isInteger(ttl) || ttl < 0) throw new StatusError(grpc.status.INVALID_ARGUMENT, `AMBIT_E_CA_BAD_TTL: ttl_seconds must be a whole number of seconds >= 0 (got ${ttl})`);
  if (ttl > MAX_TTL_S) throw new StatusError(grpc.status.INVALID_ARGUMENT, `AMBIT_E_CA_BAD_TTL: requested TTL ${ttl}s is greater than the max allowed TTL ${MAX_TTL_S}s (90 days)`);
  return ttl === 0 ? DEFAULT_TTL_S : ttl;
}

/** The CaAdmin operations, in wire shapes: served over gRPC, or run on the CA files directly. */
export interface CaAdminOps {
  status(): Promise<StatusResponse>;
  issue(identity: string, ttlSeconds: number): Promise<IssueResponse>;
  revoke(sel: { serial?: string; identity?: string }): Promise<RevokeResponse>;
  rotateRoot(): Promise<RotateRootResponse>;
}

export function localAdmin(ca: CertificateAuthority, onChange: () => Promise<void>): CaAdminOps {
  return {
    status: async () => toWireStatus(ca.status()),
    async issue(identity, ttlSeconds) {
      const ttl = checkTtl(ttlSeconds);
      // The key is made here because the caller is outside the mesh (a VM, a test client).
      const keys = await generateKeyPair();
      const csr = await createCsr(identity, keys).catch((e: unknown) => {
        throw new StatusError(grpc.status.INVALID_ARGUMENT, `AMBIT_E_CA_BAD_IDENTITY: cannot make a CSR for '${identity}': ${(e as Error).message}`);
      });
      const signed = await ca.sign(csr, identity, ttl);
      // sign() returns leaf, intermediates, then the root bundle last.
      return { cert_chain_pem: signed.chain.slice(0, -1).join(''), key_pem: await exportPrivateKeyPem(keys.privateKey), root_pem: signed.chain[signed.chain.length - 1] ?? ca.rootsPem, serial: signed.serial };
    },
    async revoke(sel) {
      if (!sel.serial === !sel.identity) throw new StatusError(grpc.status.INVALID_ARGUMENT, 'AMBIT_E_CA_REFUSED: give exactly one of serial or identity');
      const added = await ca.revoke(sel.serial ? { serial: sel.serial } : { identity: sel.identity ?? '' });
      if (added.length > 0) await onChange();
      return { serials: added.map((r) => r.serial), crl_pem: await ca.crlPem() };
    },
    async rotateRoot() {
      await ca.rotateRoot();
      await onChange();
      return { status: toWireStatus(ca.status()) };
    },
  };
}

export function addAdminService(server: grpc.Server, deps: AdminServiceDeps): void {
  const ops = localAdmin(deps.authority, deps.onChange);
  // One wrapper for auth, logging and error mapping, so no handler can forget them.
  const unary = <Req, Res>(name: string, fn: (req: Req) => Promise<Res>, describe: (req: Req, res: Res) => string): grpc.handleUnaryCall<Req, Res> => {
    return (call, callback) => {
      if (!deps.isAdmin(call.metadata)) {
        deps.log(`CaAdmin.${name} refused from ${call.getPeer()}: not an admin token`);
        callback(new StatusError(grpc.status.UNAUTHENTICATED, 'AMBIT_E_CA_ADMIN_TOKEN: CaAdmin needs the cluster admin token (authorization: Bearer <admin token from tokens.json>)'));
        return;
      }
      fn(call.request).then(
        (res) => {
          deps.log(`CaAdmin.${name} ok: ${describe(call.request, res)}`);
          callback(null, res);
        },
        (e: unknown) => {
          const se = toStatusError(e);
          deps.log(`CaAdmin.${name} failed (${grpc.status[se.code]}): ${se.details}`);
          callback(se);
        },
      );
    };
  };

  const impl: grpc.UntypedServiceImplementation = {
    Status: unary<object, StatusResponse>('Status', () => ops.status(), () => 'status'),
    Issue: unary<IssueRequest, IssueResponse>(
      'Issue',
      (req) => ops.issue(req.identity, Number(req.ttl_seconds)),
      (req, res) => `issued ${req.identity} serial ${res.serial} ttl ${Number(req.ttl_seconds) || DEFAULT_TTL_S}s`,
    ),
    Revoke: unary<RevokeRequest, RevokeResponse>(
      'Revoke',
      (req) => ops.revoke({ ...(req.serial ? { serial: req.serial } : {}), ...(req.identity ? { identity: req.identity } : {}) }),
      (req, res) => `revoke ${req.serial ? `serial ${req.serial}` : `identity ${req.identity}`}: ${res.serials.length} newly revoked${res.serials.length ? ` (${res.serials.join(', ')})` : ''}`,
    ),
    RotateRoot: unary<object, RotateRootResponse>(
      'RotateRoot',
      () => ops.rotateRoot(),
      (_req, res) => `new root ${res.status?.signing?.fingerprint_sha256 ?? '?'}; bundle has ${res.status?.roots.length ?? 0} roots`,
    ),
  };
  server.addService(caAdminDefinition(), impl);
}
