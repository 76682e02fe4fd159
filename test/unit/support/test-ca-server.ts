// A real IstioCertificateService over TLS for the certificate tests: CreateCertificate signs with
// the real CertificateAuthority for metadata.ImpersonatedIdentity. Test-only hooks make it fail,
// stall until released, or sign for another identity; it counts calls in flight.
import * as grpc from '@grpc/grpc-js';
import type { CertificateAuthority } from '../../../src/ca/authority.js';
import { istioCertificateService, metadataString, type IstioCertificateRequest, type IstioCertificateResponse } from '../../../src/identity/ca-proto.js';
import { createCsr, generateKeyPair } from '../../../src/identity/x509.js';

export const TEST_CA_TOKEN = 'ztunnel-token';

export class TestCaServer {
  /** ok: sign; fail: answer failCode; stall: hold each call until release(). */
  mode: 'ok' | 'fail' | 'stall' = 'ok';
  failCode: grpc.status = grpc.status.UNAVAILABLE;
  /** Misbehaving CA: issue a leaf for this identity (and another key) instead. */
  signAs: string | undefined;
  token = TEST_CA_TOKEN;
  /** Impersonated identities in arrival order. */
  calls: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  port = 0;
  #stalled: Array<() => void> = [];
  #server: grpc.Server | undefined;

  private constructor(private readonly authority: CertificateAuthority, private readonly creds: grpc.ServerCredentials) {}

  static async start(authority: CertificateAuthority): Promise<TestCaServer> {
    const { certChain, key } = await authority.issueServerCert(['istiod.istio-system.svc', 'localhost'], ['127.0.0.1'], 3600);
    const creds = grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(certChain), private_key: Buffer.from(key) }], false);
    const s = new TestCaServer(authority, creds);
    await s.listen();
    return s;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** (Re)starts on the same port after stop(): the CA coming back. */
  async listen(): Promise<void> {
    const server = new grpc.Server();
    server.addService(istioCertificateService(), { CreateCertificate: (call: grpc.ServerUnaryCall<IstioCertificateRequest, IstioCertificateResponse>, cb: grpc.sendUnaryData<IstioCertificateResponse>) => void this.#handle(call, cb) });
    this.port = await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${this.port}`, this.creds, (err, port) => (err ? reject(err) : resolve(port))));
    this.#server = server;
  }

  /** The CA becomes unreachable: connections and calls are cut. */
  stop(): void {
    this.#server?.forceShutdown();
    this.#server = undefined;
    this.release();
  }

  release(n = Infinity): void {
    for (const r of this.#stalled.splice(0, n)) r();
  }

  get stalled(): number {
    return this.#stalled.length;
  }

  reset(): void {
    this.mode = 'ok';
    this.signAs = undefined;
    this.token = TEST_CA_TOKEN;
    this.calls = [];
    this.maxInFlight = this.inFlight;
    this.release();
  }

  async #handle(call: grpc.ServerUnaryCall<IstioCertificateRequest, IstioCertificateResponse>, cb: grpc.sendUnaryData<IstioCertificateResponse>): Promise<void> {
    if (call.metadata.get('authorization')[0] !== `Bearer ${this.token}`) return cb({ code: grpc.status.UNAUTHENTICATED, details: 'bad bearer token' });
    const id = metadataString(call.request, 'ImpersonatedIdentity');
    if (!id) return cb({ code: grpc.status.INVALID_ARGUMENT, details: 'no ImpersonatedIdentity' });
    this.calls.push(id);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.mode === 'stall') await new Promise<void>((r) => this.#stalled.push(r));
      if (this.mode === 'fail') return cb({ code: this.failCode, details: 'test CA told to fail' });
      let csr = call.request.csr;
      if (this.signAs) csr = await createCsr(this.signAs, await generateKeyPair());
      const { chain } = await this.authority.sign(csr, this.signAs ?? id, Number(call.request.validity_duration));
      cb(null, { cert_chain: chain });
    } catch (e) {
      cb({ code: grpc.status.INVALID_ARGUMENT, details: (e as Error).message });
    } finally {
      this.inFlight--;
    }
  }
}
