// The delta ADS envelope (envoy.service.discovery.v3) on the wire. Responses are assembled
// from pre-encoded Resource messages: a repeated field is the concatenation of its elements,
// so a resource is encoded once per version and a full sync of 50,000 workloads is a buffer
// concatenation instead of 50,000 re-encodings per client. Requests are decoded with
// protobufjs. Field numbers: Envoy's discovery.proto (see proto/envoy/...).
import { TO_OBJECT, xdsTypes } from './proto.js';
import type { PbStruct } from '../lib/proto.js';

const LEN = 2; // wire type: length-delimited

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

function field(num: number, payload: Buffer): Buffer[] {
  return [varint((num << 3) | LEN), varint(payload.length), payload];
}

const str = (num: number, s: string): Buffer[] => (s ? field(num, Buffer.from(s, 'utf8')) : []);

/** envoy.service.discovery.v3.Resource{version=1, resource=2 (Any{type_url=1, value=2}), name=3}, framed as DeltaDiscoveryResponse.resources (field 2). */
export function encodeFramedResource(name: string, version: string, typeUrl: string, value: Buffer): Buffer {
  const any = Buffer.concat([...str(1, typeUrl), ...field(2, value)]);
  const res = Buffer.concat([...str(1, version), ...field(2, any), ...str(3, name)]);
  return Buffer.concat(field(2, res));
}

export interface ResponseParts {
  typeUrl: string;
  nonce: string;
  systemVersionInfo: string;
  /** From encodeFramedResource. */
  resources: Buffer[];
  removed: string[];
}

/** DeltaDiscoveryResponse bytes: system_version_info=1, resources=2, type_url=4, nonce=5, removed_resources=6. */
export function encodeDeltaResponse(p: ResponseParts): Buffer {
  return Buffer.concat([...str(1, p.systemVersionInfo), ...p.resources, ...str(4, p.typeUrl), ...str(5, p.nonce), ...p.removed.flatMap((n) => field(6, Buffer.from(n, 'utf8')))]);
}

/** DeltaDiscoveryRequest as decoded (keepCase). Node.metadata is a google.protobuf.Struct. */
export interface DeltaRequest {
  node?: { id: string; cluster: string; metadata?: PbStruct | null } | null;
  type_url: string;
  resource_names_subscribe: string[];
  resource_names_unsubscribe: string[];
  initial_resource_versions: Record<string, string>;
  response_nonce: string;
  error_detail?: { code: number; message: string } | null;
}


export interface DeltaResponse {
  system_version_info: string;
  resources: { version: string; name: string; aliases: string[]; resource?: { type_url: string; value: Buffer } | null }[];
  type_url: string;
  nonce: string;
  removed_resources: string[];
}

export function decodeDeltaRequest(b: Uint8Array): DeltaRequest {
  const t = xdsTypes().deltaRequest;
  return t.toObject(t.decode(b), TO_OBJECT) as DeltaRequest;
}

export function encodeDeltaRequest(r: Partial<DeltaRequest>): Buffer {
  const t = xdsTypes().deltaRequest;
  return Buffer.from(t.encode(t.fromObject(r)).finish());
}

export function decodeDeltaResponse(b: Uint8Array): DeltaResponse {
  const t = xdsTypes().deltaResponse;
  return t.toObject(t.decode(b), TO_OBJECT) as DeltaResponse;
}

