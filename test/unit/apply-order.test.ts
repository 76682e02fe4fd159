// `ambit apply -f` against the real API server (which refuses objects in a namespace that does
// not exist): Namespaces are created before anything namespaced, whatever the kind and wherever
// the Namespace stands in the files; everything else keeps its kind order, then document order.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { applyCommand } from '../../src/cli/commands/apply.js';
import { deleteCommand } from '../../src/cli/commands/resources.js';
import type { Ctx } from '../../src/cli/context.js';
import type { KubeClient } from '../../src/kube/kube-client.js';
import { KINDS } from '../../src/model/core/kinds.js';
import { TestControlPlane } from './support/control-plane.js';

let cp: TestControlPlane;
let admin: KubeClient;
before(async () => {
  cp = await TestControlPlane.start('ambit-apply-order-');
  admin = cp.client();
});
after(() => cp.destroy());

const kind = (k: string) => KINDS.find((x) => x.kind === k)!;

// One file: a ConfigMap, a Service, an AuthorizationPolicy, a Deployment and a ServiceAccount
// in namespace "shop", then the Namespace itself; a second file holds only a ConfigMap of
// namespace "stock", whose Namespace comes in the first file, after everything else.
const FIRST = `apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {mode: fast}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  rules: [{from: [{source: {namespaces: [shop]}}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers: [{name: web, command: [ambit, app, echo]}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: later, namespace: shop}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Namespace
metadata: {name: stock}
`;

const SECOND = `apiVersion: v1
kind: ConfigMap
metadata: {name: levels, namespace: stock}
data: {min: "1"}
`;

function capture(): { ctx: Ctx; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { ctx: { cluster: 'test', client: () => admin, out: (s) => out.push(s), err: (s) => err.push(s) }, out, err };
}

test('apply creates Namespaces first, then the rest in kind order and document order', async () => {
  const dir = fs.mkdtempSync(path.join(cp.root, 'apply-'));
  fs.writeFileSync(path.join(dir, 'a.yaml'), FIRST);
  fs.writeFileSync(path.join(dir, 'b.yaml'), SECOND);
  const { ctx, out, err } = capture();
  assert.equal(await applyCommand(ctx, ['-f', dir]), 0, err.join(''));
  assert.deepEqual(err, []);
  assert.deepEqual(out, [
    'namespace/shop created\n',
    'namespace/stock created\n',
    'serviceaccount/web created\n',
    'configmap/settings created\n',
    'configmap/later created\n',
    'configmap/levels created\n',
    'service/web created\n',
    'deployment.apps/web created\n',
    'authorizationpolicy.security.istio.io/allow-web created\n',
  ]);
  assert.deepEqual((await admin.get(kind('ConfigMap'), 'stock', 'levels'))['data'], { min: '1' });
  assert.equal((await admin.get(kind('Deployment'), 'shop', 'web')).metadata.namespace, 'shop');

  // delete -f removes the namespaced objects before their Namespaces.
  const del = capture();
  assert.equal(await deleteCommand(del.ctx, ['-f', dir]), 0, del.err.join(''));
  assert.deepEqual(del.out.slice(-2), ['namespace "shop" deleted\n', 'namespace "stock" deleted\n']);
});
