// istio.workload.Address: a Workload (named by uid) or a Service (named `<namespace>/<hostname>`)
// under one type URL, as ztunnel receives them (spec §4.4-4.5). Sent to every client.
import { serviceResourceName, workloadResourceName } from '../../mesh-api/types.js';
import { decodeAddress, encodeService, encodeWorkload } from '../codec.js';
import { ADDRESS_TYPE_URL } from '../proto.js';
import type { ResourceType } from '../resource-type.js';

export const addressType: ResourceType = {
  typeUrl: ADDRESS_TYPE_URL,
  audience: 'all',
  items: (s) => [
    ...s.workloads.map((w) => ({ name: workloadResourceName(w), src: w as unknown, encode: () => encodeWorkload(w) })),
    ...s.services.map((v) => ({ name: serviceResourceName(v), src: v as unknown, encode: () => encodeService(v) })),
  ],
  apply(store, name, value) {
    const addr = decodeAddress(value);
    if ('workload' in addr) {
      if (addr.workload.uid !== name) throw new Error(`name should be the uid ${addr.workload.uid}`);
      store.workloads.set(name, addr.workload);
    } else {
      if (serviceResourceName(addr.service) !== name) throw new Error(`name should be ${serviceResourceName(addr.service)}`);
      store.services.set(name, addr.service);
    }
  },
  remove(store, name) {
    store.workloads.delete(name);
    store.services.delete(name);
  },
};
