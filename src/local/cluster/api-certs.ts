// TLS for the API server: a per-cluster CA and a serving certificate for 127.0.0.1, made
// with the openssl CLI at `cluster up`. kubectl (client-go) sends bearer tokens only over
// TLS, and tokens should not cross even loopback in the clear. Keys are 0600, never logged.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { requireTools, run } from '../../platform/exec.js';

export interface ApiCerts {
  caCert: string;
  serverCert: string;
  serverKey: string;
}

export function apiCertPaths(root: string): ApiCerts {
  return { caCert: path.join(root, 'api-ca.crt'), serverCert: path.join(root, 'api-server.crt'), serverKey: path.join(root, 'api-server.key') };
}

export function createApiCerts(root: string): ApiCerts {
  requireTools(['openssl']);
  const p = apiCertPaths(root);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-certs-'));
  try {
    const caKey = path.join(tmp, 'ca.key');
    const csr = path.join(tmp, 'server.csr');
    const ext = path.join(tmp, 'ext.cnf');
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    run(['openssl', 'req', '-x509', ...ec, '-keyout', caKey, '-out', p.caCert, '-days', '3650', '-subj', '/CN=ambit-apiserver-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    run(['openssl', 'req', ...ec, '-keyout', p.serverKey, '-out', csr, '-subj', '/CN=ambit-apiserver']);
    fs.writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n');
    run(['openssl', 'x509', '-req', '-in', csr, '-CA', p.caCert, '-CAkey', caKey, '-CAcreateserial', '-out', p.serverCert, '-days', '3650', '-extfile', ext]);
    fs.chmodSync(p.serverKey, 0o600);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return p;
}
