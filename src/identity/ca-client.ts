// Client of Istio's CA API (spec §3.3), as ztunnel uses it in shared mode: one node proxy
// authenticates as itself (bearer token) and asks for each pod's identity through
// metadata.ImpersonatedIdentity. Each call uses a fresh P-256 key that never leaves this process.
import { webcrypto } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { DEFAULT_CLUSTER_ID } from './cluster-id.js';
import { istioCertificateService, type IstioCertificateRequest, type IstioCertificateResponse } from './ca-proto.js';
import { certFacts, createCsr, exportPrivateKeyPem, generateKeyPair, splitPemCerts, x509 } from './x509.js';

export const DEFAULT_CA_SERVERNAME = 'istiod.istio-system.svc';

/** A workload certificate with its key: what the tunnel serves and presents for one identity. */
export interface WorkloadCertificate {
  identity: string;
  /** Leaf first, then intermediates, one certificate per element. */
  chainPem: string[];
  /** Workload trust roots: the last element of the CA response (several during a root rotation). */
  rootsPem: string;
  /** PKCS#8 PEM. */
  keyPem: string;
  notBefore: Date;
  notAfter: Date;
  serial: string;
}

/** What the certificate manager needs from a CA; CaClient is the real one. */
export interface CertificateFetcher {
  fetchCertificate(identity: string, ttlSeconds: number): Promise<WorkloadCertificate>;
}

export type CaFetchFailure = 'rpc' | 'bad-response' | 'identity-mismatch';

export class CaFetchError extends Error {
  override readonly name = 'CaFetchError';
  constructor(
    readonly identity: string,
    readonly failure: CaFetchFailure,
    /** The gRPC status of a failed call; undefined when the call succeeded but its answer was rejected. */
    readonly code: grpc.status | undefined,
    message: string,
  ) {
    super(message);
  }
}

export interface CaClientOptions {
  /** host:port of the CA (istiod's 15012). */
  address: string;
  /** Control-plane roots the CA's server certificate must chain to; a function is re-read per call (hot reload). */
  rootsPem: string | (() => string);
  /** Bearer token, re-read per call because projected tokens are rotated on disk. */
  token: () => string;
  /** Name verified in the CA's certificate (ALT_CA_HOSTNAME); default istiod.istio-system.svc. */
  servername?: string;
  /** Sent as the `clusterid` header next to the token, as ztunnel does; default "Kubernetes". */
  clusterId?: string;
  /** Per-call deadline; default 10 s. */
  timeoutMs?: number;
  /** Extra grpc-js channel options (merged over the defaults). */
  channelOptions?: grpc.ChannelOptions;
}

export class CaClient implements CertificateFetcher {
  #client: grpc.Client | undefined;
  #clientRoots = '';
  readonly #method = istioCertificateService().CreateCertificate;

  constructor(private readonly opts: CaClientOptions) {}

  async fetchCertificate(identity: string, ttlSeconds: number): Promise<WorkloadCertificate> {
    const keys = await generateKeyPair();
    const csr = await createCsr(identity, keys);
    const req: IstioCertificateRequest = {
      csr,
      validity_duration: ttlSeconds,
      metadata: { fields: { ImpersonatedIdentity: { stringValue: identity } } },
    };
    const res = await this.#call(identity, req);
    const cert = await checkResponse(identity, res, keys.publicKey);
    return { ...cert, keyPem: await exportPrivateKeyPem(keys.privateKey) };
  }

  close(): void {
    this.#client?.close();
    this.#client = undefined;
  }

  #call(identity: string, req: IstioCertificateRequest): Promise<IstioCertificateResponse> {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${this.opts.token()}`);
    md.set('clusterid', this.opts.clusterId || DEFAULT_CLUSTER_ID);
    const deadline = Date.now() + (this.opts.timeoutMs ?? 10_000);
    const m = this.#method;
    return new Promise((resolve, reject) => {
      this.#channel().makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, req, md, { deadline }, (err, res) => {
        if (err) {
          const name = grpc.status[err.code] ?? String(err.code);
          reject(new CaFetchError(identity, 'rpc', err.code, `CA CreateCertificate for ${identity} failed: ${name}: ${err.details}`));
        } else if (!res) {
          reject(new CaFetchError(identity, 'bad-response', undefined, `CA CreateCertificate for ${identity}: empty response`));
        } else resolve(res);
      });
    });
  }

  /** The channel, rebuilt when the control-plane roots change (spec §3.3: root-cert.pem is hot-reloaded). */
  #channel(): grpc.Client {
    const roots = typeof this.opts.rootsPem === 'function' ? this.opts.rootsPem() : this.opts.rootsPem;
    if (this.#client && roots === this.#clientRoots) return this.#client;
    this.#client?.close();
    const servername = this.opts.servername ?? DEFAULT_CA_SERVERNAME;
    this.#client = new grpc.Client(this.opts.address, grpc.credentials.createSsl(Buffer.from(roots)), {
      'grpc.ssl_target_name_override': servername,
      'grpc.default_authority': servername,
      // The certificate manager backs off per identity; the channel should come back quickly.
      'grpc.initial_reconnect_backoff_ms': 500,
      'grpc.max_reconnect_backoff_ms': 5000,
      ...this.opts.channelOptions,
    });
    this.#clientRoots = roots;
    return this.#client;
  }
}

/** Splits and checks cert_chain: leaf for our key and exactly the requested identity, still valid. */
async function checkResponse(identity: string, res: IstioCertificateResponse, publicKey: CryptoKey): Promise<Omit<WorkloadCertificate, 'keyPem'>> {
  const bad = (msg: string, failure: CaFetchFailure = 'bad-response'): CaFetchError => new CaFetchError(identity, failure, undefined, `CA response for ${identity}: ${msg}`);
  const elems = res.cert_chain;
  if (elems.length < 2) throw bad(`cert_chain has ${elems.length} element(s); expected the leaf, optional intermediates and the root`);
  const leaf = splitPemCerts(elems[0]!)[0];
  const intermediates = elems.slice(1, -1).flatMap((e) => splitPemCerts(e));
  const roots = splitPemCerts(elems[elems.length - 1]!);
  if (!leaf || roots.length === 0) throw bad('the leaf or the root element holds no PEM certificate');
  let facts;
  let leafKey: ArrayBuffer;
  try {
    facts = certFacts(leaf);
    leafKey = new x509.X509Certificate(leaf).publicKey.rawData;
  } catch (e) {
    throw bad(`the leaf certificate does not parse (${(e as Error).message})`);
  }
  // ztunnel refuses a certificate whose identity is not the one it asked for.
  if (facts.uris.length !== 1 || facts.uris[0] !== identity) {
    throw bad(`the leaf is for ${facts.uris.join(', ') || 'no URI SAN'}, not the requested ${identity}`, 'identity-mismatch');
  }
  const ours = Buffer.from(await webcrypto.subtle.exportKey('spki', publicKey));
  if (!ours.equals(Buffer.from(leafKey))) throw bad('the leaf does not certify the key of our CSR');
  if (facts.notAfter.getTime() <= Date.now()) throw bad(`the leaf already expired (${facts.notAfter.toISOString()})`);
  return { identity, chainPem: [leaf, ...intermediates], rootsPem: roots.join(''), notBefore: facts.notBefore, notAfter: facts.notAfter, serial: facts.serial };
}
