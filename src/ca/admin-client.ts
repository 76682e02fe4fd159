// Client of the CaAdmin gRPC API, used by `ambit ca ...` on a running cluster: TLS verified
// against the cluster's CA roots under the istiod name, admin bearer token on every call.
import * as grpc from '@grpc/grpc-js';
import type { CaAdminOps } from './admin-service.js';
import { caAdminDefinition, type IssueResponse, type RevokeResponse, type RotateRootResponse, type StatusResponse } from './admin-proto.js';

/** The name the CA's server certificate carries (Istio's CA_ADDRESS host). */
export const CA_SERVER_NAME = 'istiod.istio-system.svc';

export interface CaAdminClientOptions {
  address: string; // host:port
  rootsPem: string;
  token: string;
  timeoutMs?: number;
}

export class CaAdminClient implements CaAdminOps {
  readonly #client: grpc.Client;
  readonly #token: string;
  readonly #timeoutMs: number;

  constructor(readonly opts: CaAdminClientOptions) {
    const Ctor = grpc.makeGenericClientConstructor(caAdminDefinition(), 'CaAdmin');
    // Dial 127.0.0.1 but verify the certificate for the istiod name, as ztunnel does.
    this.#client = new Ctor(opts.address, grpc.credentials.createSsl(Buffer.from(opts.rootsPem)), {
      'grpc.ssl_target_name_override': CA_SERVER_NAME,
      'grpc.default_authority': CA_SERVER_NAME,
    });
    this.#token = opts.token;
    this.#timeoutMs = opts.timeoutMs ?? 15_000;
  }

  #call<Res>(method: string, req: object): Promise<Res> {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${this.#token}`);
    const m = caAdminDefinition()[method];
    if (!m) throw new Error(`CaAdmin has no method ${method}`);
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest<object, Res>(
        m.path,
        m.requestSerialize as (v: object) => Buffer,
        m.responseDeserialize as (b: Buffer) => Res,
        req,
        md,
        { deadline: Date.now() + this.#timeoutMs },
        (err, res) => (err ? reject(err) : resolve(res as Res)),
      );
    });
  }

  status(): Promise<StatusResponse> {
    return this.#call('Status', {});
  }
  issue(identity: string, ttlSeconds: number): Promise<IssueResponse> {
    return this.#call('Issue', { identity, ttl_seconds: ttlSeconds });
  }
  revoke(sel: { serial?: string; identity?: string }): Promise<RevokeResponse> {
    return this.#call('Revoke', { serial: sel.serial ?? '', identity: sel.identity ?? '' });
  }
  rotateRoot(): Promise<RotateRootResponse> {
    return this.#call('RotateRoot', {});
  }
  close(): void {
    this.#client.close();
  }
}
