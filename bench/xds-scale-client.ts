// Child process of bench/xds-scale.ts: many node-tunnel xDS streams (one TLS connection
// each, like one node each). Plain grpc-js streams that ACK every response after reading its
// envelope; they do not decode the resources (the server's cost is what is measured).
import * as grpc from '@grpc/grpc-js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, DELTA_ADS_PATH } from '../src/xds/proto.js';
import { encodeDeltaRequest, type DeltaRequest } from '../src/xds/wire.js';

interface Config {
  address: string;
  roots: string;
  tokens: { node: string; token: string }[];
}

/** Top-level fields of a DeltaDiscoveryResponse without decoding the resources. */
function envelope(b: Buffer): { typeUrl: string; nonce: string; resources: number; removed: number } {
  let i = 0;
  const out = { typeUrl: '', nonce: '', resources: 0, removed: 0 };
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const x = b[i++] ?? 0;
      v += (x & 0x7f) * mul;
      if (x < 0x80) return v;
      mul *= 128;
    }
  };
  while (i < b.length) {
    const tag = varint();
    const len = varint(); // every top-level field Ambit sends is length-delimited
    const f = tag >> 3;
    if (f === 2) out.resources++;
    else if (f === 4) out.typeUrl = b.toString('utf8', i, i + len);
    else if (f === 5) out.nonce = b.toString('utf8', i, i + len);
    else if (f === 6) out.removed++;
    i += len;
  }
  return out;
}

const send = (m: object): void => {
  process.send?.(m);
};

process.once('message', (cfg: Config) => {
  const creds = grpc.credentials.createSsl(Buffer.from(cfg.roots));
  for (const { node, token } of cfg.tokens) {
    const client = new grpc.Client(cfg.address, creds, { 'grpc.max_receive_message_length': 200 * 1024 * 1024, 'grpc.ssl_target_name_override': 'istiod.istio-system.svc', 'grpc.use_local_subchannel_pool': 1 });
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${token}`);
    const t0 = Date.now();
    const call = client.makeBidiStreamRequest(DELTA_ADS_PATH, (r: Partial<DeltaRequest>) => encodeDeltaRequest(r), (b: Buffer) => b, md);
    const first = new Set<string>();
    call.on('data', (b: Buffer) => {
      const e = envelope(b);
      call.write({ type_url: e.typeUrl, response_nonce: e.nonce });
      if (!first.has(e.typeUrl)) {
        first.add(e.typeUrl);
        if (first.size === 2) send({ ready: node, ms: Date.now() - t0 });
      }
    });
    call.on('error', () => {});
    call.on('status', (st: grpc.StatusObject) => send({ closed: node, code: st.code, details: st.details }));
    call.write({ node: { id: `ambit~${node}`, cluster: '', metadata: { fields: { NODE_NAME: { stringValue: node } } } }, type_url: ADDRESS_TYPE_URL });
    call.write({ type_url: AUTHORIZATION_TYPE_URL });
  }
});
