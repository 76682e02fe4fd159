// The Istio-compatible CA endpoint (istiod's :15012): gRPC over TLS serving
// istio.v1.auth.IstioCertificateService/CreateCertificate, plus the CaAdmin service.
//
// A caller proves which node it is with `authorization: Bearer <node token>` (as ztunnel
// sends its JWT) and names the pod identity it wants in metadata.ImpersonatedIdentity. It
// gets a certificate only if a pod with that namespace/service account is scheduled on
// its node right now (istiod's node authorizer rule), so a compromised node can obtain
// only the identities of pods it already runs. Every issuance and refusal is logged and
// counted; keys and tokens never are.
import { timingSafeEqual } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { DEFAULT_CLUSTER_ID } from '../identity/cluster-id.js';
import { parseSpiffeId, type SpiffeId } from '../identity/spiffe.js';
import { AmbitError, type AmbitCode } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { Counter, MetricsRegistry } from '../lib/metrics.js';
import { addAdminService } from './admin-service.js';
import { CaError, type CertificateAuthority } from './authority.js';
import { istioCertificateService, metadataString, type IstioCertificateRequest, type IstioCertificateResponse } from '../identity/ca-proto.js';
import { NodeAuthError, type NodeAuthority } from './node-auth.js';
import type { NodePods } from './node-pods.js';
import { isNodeToken, TokenReviewError, type TokenReviewer, type WorkloadCaller } from './token-review.js';
import { SECURE_GRPC_PORT } from '../mesh-api/ports.js';

export const DEFAULT_CA_PORT = SECURE_GRPC_PORT;
/** Names the CA's serving certificate covers: Istio's CA_ADDRESS host, and loopback. */
export const CA_SERVER_DNS = ['istiod.istio-system.svc', 'localhost'];
export const CA_SERVER_IPS = ['127.0.0.1'];
const SERVER_CERT_TTL_S = 365 * 24 * 3600;
/** A P-256 CSR is well under 1 KiB; anything this large is not one. */
const MAX_CSR_BYTES = 64 * 1024;
const IMPERSONATED_IDENTITY = 'ImpersonatedIdentity';
const CREATE_CERTIFICATE_PATH = '/istio.v1.auth.IstioCertificateService/CreateCertificate';
const ADMIN_PATH_PREFIX = '/ambit.ca.v1.CaAdmin/';
/**
 * Largest message on this port. Checked only after the caller's token (see authFirst), so it
 * bounds what an authenticated node may send: a reconnecting node tunnel's DeltaDiscoveryRequest
 * lists every resource it holds in initial_resource_versions (about 100 bytes each), and 64 MiB
 * covers several hundred thousand. grpc-js has one limit per server, not per method or caller.
 */
export const MAX_AUTHENTICATED_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Checks a call's metadata before any of its messages is read; returns why it is refused, or undefined. */
export type GuardResult = { code: grpc.status; details: string } | undefined;
/** Checks a call's metadata before its request is read; async for checks that ask the API server (TokenReview). */
export type CallGuard = (md: grpc.Metadata, peer: string) => GuardResult | Promise<GuardResult>;

export type RefusalReason = 'unauthenticated' | 'unknown_cluster' | 'no_impersonation' | 'bad_identity' | 'not_on_node' | 'impersonation_denied' | 'bad_csr' | 'bad_ttl';

/** Who called: a node (node token) or a workload (a service-account token the API server reviewed). */
type Caller = { node: string } | { workload: WorkloadCaller };
const describeCaller = (c: Caller): string =>
  'node' in c ? `node ${c.node}` : `workload ${c.workload.namespace}/${c.workload.serviceAccount}${c.workload.pod ? ` (pod ${c.workload.pod})` : ''}`;

/** The stable code that starts each refusal's details (the gRPC status stays Istio's). */
const REFUSAL_CODES: Record<RefusalReason, AmbitCode> = {
  unauthenticated: 'AMBIT_E_CA_UNAUTHENTICATED',
  unknown_cluster: 'AMBIT_E_CA_UNKNOWN_CLUSTER',
  no_impersonation: 'AMBIT_E_CA_NO_IMPERSONATION',
  impersonation_denied: 'AMBIT_E_CA_IMPERSONATION_DENIED',
  bad_identity: 'AMBIT_E_CA_BAD_IDENTITY',
  not_on_node: 'AMBIT_E_CA_NOT_ON_NODE',
  bad_csr: 'AMBIT_E_CA_BAD_CSR',
  bad_ttl: 'AMBIT_E_CA_BAD_TTL',
};

/** A refused request: gRPC status, a metrics reason, and a message saying what to do. */
class Refusal extends Error {
  constructor(readonly status: grpc.status, readonly reason: RefusalReason, message: string) {
    super(message);
  }
}

export interface CaMetrics {
  csr: Counter;
  success: Counter;
  authnFailure: Counter;
  csrParsingErr: Counter;
  signErr: Counter;
  refusals: Counter;
}

/** istiod's citadel server counters (same names), plus refusals by reason. */
export function caMetrics(registry: MetricsRegistry): CaMetrics {
  return {
    csr: registry.counter('citadel_server_csr_count', 'The number of CSRs received by Citadel server.'),
    success: registry.counter('citadel_server_success_cert_issuance_count', 'The number of certificates issuances that have succeeded.'),
    authnFailure: registry.counter('citadel_server_authentication_failure_count', 'The number of authentication failures.'),
    csrParsingErr: registry.counter('citadel_server_csr_parsing_err_count', 'The number of errors occurred when parsing the CSR.'),
    signErr: registry.counter('citadel_server_csr_sign_err_count', 'The number of errors occurred when signing the CSR.'),
    refusals: registry.counter('ambit_ca_refusals_total', 'CSRs the CA refused, by reason.', { labelled: true }),
  };
}

export interface CaServerOptions {
  authority: CertificateAuthority;
  nodeAuth: NodeAuthority;
  /**
   * Checks workload service-account tokens (TokenReview against the API server, as istiod does);
   * without it only node tokens are accepted.
   */
  reviewToken?: TokenReviewer;
  /** Started by the server before it accepts calls; stopped by close(). */
  pods: NodePods;
  /** Bearer tokens allowed to call the CaAdmin service. */
  adminTokens: string[];
  metrics: CaMetrics;
  port: number;
  host?: string;
  /** After a revocation or root rotation (republish root and CRL). */
  onChange(): Promise<void>;
  log: Logger;
  /** More services on the same port (istiod serves xDS next to the CA on :15012). */
  registerServices?: (server: grpc.Server) => void;
  /**
   * The cluster this CA serves (istiod's CLUSTER_ID; default "Kubernetes"). A caller's
   * `clusterid` must be this one or absent, as istiod's kube JWT authenticator requires when
   * it has no remote cluster to validate the token against.
   */
  clusterId?: string;
  /** Largest request accepted (default 1 MiB; xDS reconnects carry initial_resource_versions). */
  maxReceiveMessageBytes?: number;
  /** Guards for the registered services' methods, by full method path (e.g. xDS's node-token check). */
  guards?: Record<string, CallGuard>;
}

/**
 * A server interceptor that runs the method's guard on the call's metadata and refuses the call
 * before its request message is read (grpc-js reads messages only once the handler starts), so an
 * unauthenticated caller cannot make the server buffer a large message. Unguarded methods pass.
 */
function authFirst(guardFor: (path: string) => CallGuard | undefined): grpc.ServerInterceptor {
  return (method, call) => {
    const guard = guardFor(method.path);
    if (!guard) return new grpc.ServerInterceptingCall(call);
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        next(
          new grpc.ServerListenerBuilder()
            .withOnReceiveMetadata((md, mdNext) => {
              Promise.resolve()
                .then(() => guard(md, call.getPeer()))
                .then(
                  (refused) => (refused ? call.sendStatus({ ...refused, metadata: new grpc.Metadata() }) : mdNext(md)),
                  () => call.sendStatus({ code: grpc.status.INTERNAL, details: 'AMBIT_E_CA_INTERNAL: the call could not be authenticated; see the control-plane log', metadata: new grpc.Metadata() }),
                );
            })
            .build(),
        );
      },
    });
  };
}

function bearer(md: grpc.Metadata): string | undefined {
  const v = md.get('authorization')[0];
  const s = typeof v === 'string' ? v : v?.toString('utf8');
  const m = s ? /^bearer\s+(\S+)\s*$/i.exec(s) : null;
  return m?.[1];
}

/**
 * istiod's ExtractClusterID: the single `clusterid` value; none or several mean "not sent".
 * Node's HTTP/2 joins a repeated header with ", " before grpc-js sees it, so split it again.
 */
export function claimedClusterId(md: grpc.Metadata): string {
  const values = md.get('clusterid').flatMap((v) => (typeof v === 'string' ? v : v.toString('utf8')).split(',').map((s) => s.trim()));
  return values.length === 1 ? values[0]! : '';
}

function tokenIn(token: string | undefined, allowed: string[]): boolean {
  if (!token) return false;
  const presented = Buffer.from(token);
  let ok = false;
  for (const t of allowed) {
    const want = Buffer.from(t);
    if (want.length === presented.length && timingSafeEqual(want, presented)) ok = true;
  }
  return ok;
}

export class CaServer {
  readonly #server: grpc.Server;
  readonly #opts: CaServerOptions;
  #port = 0;

  private constructor(opts: CaServerOptions) {
    this.#opts = opts;
    const guards: Record<string, CallGuard> = {
      ...opts.guards,
      [CREATE_CERTIFICATE_PATH]: (md, peer) => this.#guardCreateCertificate(md, peer),
    };
    const admin: CallGuard = (md, peer) => {
      if (tokenIn(bearer(md), opts.adminTokens)) return undefined;
      opts.log(`ca: CaAdmin call refused from ${peer}: not an admin token`);
      return { code: grpc.status.UNAUTHENTICATED, details: 'CaAdmin needs the cluster admin token (authorization: Bearer <admin token from tokens.json>)' };
    };
    this.#server = new grpc.Server({
      'grpc.max_receive_message_length': opts.maxReceiveMessageBytes ?? 1024 * 1024,
      interceptors: [authFirst((p) => guards[p] ?? (p.startsWith(ADMIN_PATH_PREFIX) ? admin : undefined))],
    });
  }

  get port(): number {
    return this.#port;
  }

  static async start(opts: CaServerOptions): Promise<CaServer> {
    const s = new CaServer(opts);
    await opts.pods.start();
    s.#server.addService(istioCertificateService(), {
      CreateCertificate: (call: grpc.ServerUnaryCall<IstioCertificateRequest, IstioCertificateResponse>, cb: grpc.sendUnaryData<IstioCertificateResponse>) => {
        const ctx: { caller?: string } = {};
        s.#createCertificate(call, ctx).then(
          (r) => cb(null, r),
          (e: unknown) => cb(s.#refuse(e, call, ctx.caller)),
        );
      },
    });
    opts.registerServices?.(s.#server);
    addAdminService(s.#server, { authority: opts.authority, isAdmin: (md) => tokenIn(bearer(md), opts.adminTokens), onChange: opts.onChange, log: opts.log });
    const tls = await opts.authority.issueServerCert(CA_SERVER_DNS, CA_SERVER_IPS, SERVER_CERT_TTL_S);
    const creds = grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(tls.certChain), private_key: Buffer.from(tls.key) }], false);
    const host = opts.host ?? '127.0.0.1';
    s.#port = await new Promise<number>((resolve, reject) => {
      s.#server.bindAsync(`${host}:${opts.port}`, creds, (err, port) => (err ? reject(new AmbitError('AMBIT_E_PORT_IN_USE', `CA server cannot listen on ${host}:${opts.port}: ${err.message} (pick another CA port)`)) : resolve(port)));
    }).catch((e: unknown) => {
      opts.pods.stop();
      throw e;
    });
    return s;
  }

  async close(): Promise<void> {
    this.#opts.pods.stop();
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, 2000);
      this.#server.tryShutdown(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  async #createCertificate(call: grpc.ServerUnaryCall<IstioCertificateRequest, IstioCertificateResponse>, ctx: { caller?: string }): Promise<IstioCertificateResponse> {
    const { authority, metrics, log } = this.#opts;
    metrics.csr.inc();
    const caller = await this.#authenticate(call.metadata);
    ctx.caller = describeCaller(caller);
    const req = call.request;
    const asked = metadataString(req, IMPERSONATED_IDENTITY);
    let identity: string;
    if ('workload' in caller) {
      // istiod: a workload gets the identity of its own token; impersonating another needs the node authorizer.
      const own = `spiffe://${authority.trustDomain}/ns/${caller.workload.namespace}/sa/${caller.workload.serviceAccount}`;
      if (asked !== undefined && asked !== own) {
        throw new Refusal(
          grpc.status.PERMISSION_DENIED,
          'impersonation_denied',
          `${ctx.caller} may not obtain ${asked}: a service-account token only gets its own identity ${own} (omit ${IMPERSONATED_IDENTITY} or set it to that; only node tokens may impersonate the pods on their node)`,
        );
      }
      identity = own;
    } else {
      if (asked === undefined) {
        const node = caller.node;
        throw new Refusal(grpc.status.PERMISSION_DENIED, 'no_impersonation', `node ${node} has no workload identity of its own: a node token may only request pod identities (set metadata.${IMPERSONATED_IDENTITY} to the pod's SPIFFE ID)`);
      }
      identity = asked;
    }
    let id: SpiffeId;
    try {
      id = parseSpiffeId(identity);
    } catch (e) {
      throw new Refusal(grpc.status.INVALID_ARGUMENT, 'bad_identity', `${IMPERSONATED_IDENTITY}: ${(e as Error).message}`);
    }
    if (id.trustDomain !== authority.trustDomain) {
      throw new Refusal(grpc.status.INVALID_ARGUMENT, 'bad_identity', `${identity} is not in this CA's trust domain '${authority.trustDomain}'`);
    }
    const node = 'node' in caller ? caller.node : undefined;
    const nodes = node !== undefined ? this.#opts.pods.nodesFor(id.namespace, id.serviceAccount) : [];
    if (node !== undefined && !nodes.includes(node)) {
      throw new Refusal(
        grpc.status.PERMISSION_DENIED,
        'not_on_node',
        `node ${node} may not obtain ${identity}: no pod with service account ${id.namespace}/${id.serviceAccount} is scheduled on ${node}` + (nodes.length ? ` (it runs on ${nodes.join(', ')})` : ''),
      );
    }
    if (typeof req.csr !== 'string' || req.csr.length === 0) throw new Refusal(grpc.status.INVALID_ARGUMENT, 'bad_csr', 'csr is empty: send a PEM PKCS#10 request (ECDSA P-256, empty subject, URI SAN = the identity)');
    if (Buffer.byteLength(req.csr) > MAX_CSR_BYTES) throw new Refusal(grpc.status.INVALID_ARGUMENT, 'bad_csr', `csr is ${Buffer.byteLength(req.csr)} bytes; a certificate request is at most ${MAX_CSR_BYTES}`);
    const ttl = Number(req.validity_duration);
    if (!Number.isFinite(ttl)) throw new Refusal(grpc.status.INVALID_ARGUMENT, 'bad_ttl', `validity_duration ${String(req.validity_duration)} is not a number of seconds`);
    let issued: Awaited<ReturnType<CertificateAuthority['sign']>>;
    try {
      issued = await authority.sign(req.csr, identity, ttl);
    } catch (e) {
      if (e instanceof CaError && e.code === 'BAD_CSR') throw new Refusal(grpc.status.INVALID_ARGUMENT, 'bad_csr', e.message);
      if (e instanceof CaError && e.code === 'BAD_TTL') throw new Refusal(grpc.status.INVALID_ARGUMENT, 'bad_ttl', e.message);
      if (e instanceof CaError && e.code === 'BAD_IDENTITY') throw new Refusal(grpc.status.INVALID_ARGUMENT, 'bad_identity', e.message);
      throw e;
    }
    metrics.success.inc();
    const cluster = claimedClusterId(call.metadata);
    log(`ca: issued ${identity} to ${ctx.caller} serial ${issued.serial} notAfter ${issued.notAfter.toISOString()}${cluster ? ` clusterid ${cluster}` : ''}`);
    return { cert_chain: issued.chain };
  }

  /** The token and cluster checks of CreateCertificate, before its request is read; counted and logged as refusals. */
  async #guardCreateCertificate(md: grpc.Metadata, peer: string): Promise<GuardResult> {
    try {
      await this.#authenticate(md);
      return undefined;
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      const { metrics, log } = this.#opts;
      metrics.csr.inc();
      metrics.refusals.inc({ reason: e.reason });
      metrics.authnFailure.inc();
      log(`ca: refused a CSR from ${peer} before reading it (${e.reason}): ${e.message}`);
      return { code: e.status, details: `${REFUSAL_CODES[e.reason]}: ${e.message}` };
    }
  }

  async #authenticate(md: grpc.Metadata): Promise<Caller> {
    const token = bearer(md);
    if (!token) throw new Refusal(grpc.status.UNAUTHENTICATED, 'unauthenticated', 'no bearer token: send `authorization: Bearer <node token>` (the ca-token ambit cluster up wrote for the node)');
    // istiod picks the cluster to validate the token in by `clusterid`; an unknown one fails authentication.
    const cluster = claimedClusterId(md);
    const ours = this.#opts.clusterId ?? DEFAULT_CLUSTER_ID;
    if (cluster !== '' && cluster !== ours) {
      throw new Refusal(
        grpc.status.UNAUTHENTICATED,
        'unknown_cluster',
        `clusterid '${cluster.slice(0, 64)}' is not this CA's cluster '${ours}': set CLUSTER_ID (or ISTIO_META_CLUSTER_ID) on the node tunnel to '${ours}'`,
      );
    }
    const review = this.#opts.reviewToken;
    if (review && !isNodeToken(token)) {
      try {
        return { workload: await review(token) };
      } catch (e) {
        if (e instanceof TokenReviewError) throw new Refusal(grpc.status.UNAUTHENTICATED, 'unauthenticated', `service-account token rejected: ${e.message}`);
        throw e;
      }
    }
    try {
      return { node: this.#opts.nodeAuth.verifyNodeToken(token) };
    } catch (e) {
      if (e instanceof NodeAuthError) throw new Refusal(grpc.status.UNAUTHENTICATED, 'unauthenticated', `node token rejected: ${e.message}`);
      throw e;
    }
  }

  /** Logs, counts and converts any failure into a gRPC error; internal errors stay generic to the caller. */
  #refuse(e: unknown, call: grpc.ServerUnaryCall<IstioCertificateRequest, IstioCertificateResponse>, caller = '-'): Partial<grpc.StatusObject> {
    const { metrics, log } = this.#opts;
    const identity = metadataString(call.request, IMPERSONATED_IDENTITY) ?? '-';
    if (e instanceof Refusal) {
      metrics.refusals.inc({ reason: e.reason });
      if (e.reason === 'unauthenticated' || e.reason === 'unknown_cluster') metrics.authnFailure.inc();
      if (e.reason === 'bad_csr') metrics.csrParsingErr.inc();
      log(`ca: refused ${identity} to ${caller} at ${call.getPeer()} (${e.reason}): ${e.message}`);
      return { code: e.status, details: `${REFUSAL_CODES[e.reason]}: ${e.message}` };
    }
    metrics.signErr.inc();
    log(`ca: internal error signing ${identity} for ${caller}: ${(e as Error).stack ?? String(e)}`);
    return { code: grpc.status.INTERNAL, details: 'AMBIT_E_CA_INTERNAL: the CA failed to sign the request; see the control-plane log' };
  }
}
