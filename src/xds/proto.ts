// Loads the xDS wire contracts (proto/istio/{workload,authorization}.proto and the delta ADS
// subset of Envoy's API) with protobufjs, the codec @grpc/proto-loader is built on. Ambit
// encodes resources itself (they travel inside google.protobuf.Any), so it needs the message
// types, not only a gRPC service definition. Field names stay as in the .proto (keepCase).
import type protobuf from 'protobufjs';
import { loadProtoRoot } from '../lib/proto.js';

export const ADDRESS_TYPE_URL = 'type.googleapis.com/istio.workload.Address';
export const AUTHORIZATION_TYPE_URL = 'type.googleapis.com/istio.security.Authorization';
export const DELTA_ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';

export interface XdsTypes {
  address: protobuf.Type;
  authorization: protobuf.Type;
  deltaRequest: protobuf.Type;
  deltaResponse: protobuf.Type;
}

/** toObject options: enums as names, bytes as Buffers, defaults filled, oneof discriminators set. */
export const TO_OBJECT: protobuf.IConversionOptions = { enums: String, longs: Number, bytes: Buffer, defaults: true, arrays: true, objects: true, oneofs: true };

let cached: XdsTypes | undefined;

export function xdsTypes(): XdsTypes {
  if (cached) return cached;
  const root = loadProtoRoot(['istio/workload.proto', 'istio/authorization.proto', 'envoy/service/discovery/v3/ads.proto']);
  cached = {
    address: root.lookupType('istio.workload.Address'),
    authorization: root.lookupType('istio.security.Authorization'),
    deltaRequest: root.lookupType('envoy.service.discovery.v3.DeltaDiscoveryRequest'),
    deltaResponse: root.lookupType('envoy.service.discovery.v3.DeltaDiscoveryResponse'),
  };
  return cached;
}
