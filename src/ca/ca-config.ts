// What `ambit ca init` decided and the CA files do not record: the trust domain (a plug-in
// CA's subject need not name it). Stored as <ca dir>/config.json; the control plane opens
// the CA with this trust domain when the file exists.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_TRUST_DOMAIN } from '../identity/spiffe.js';

export interface CaConfig {
  trustDomain: string;
  mode: 'self-signed' | 'plug-in';
  createdAt: string;
}

export const caConfigPath = (caDir: string): string => path.join(caDir, 'config.json');

export function readCaConfig(caDir: string): CaConfig | undefined {
  try {
    return JSON.parse(fs.readFileSync(caConfigPath(caDir), 'utf8')) as CaConfig;
  } catch {
    return undefined;
  }
}

/** The trust domain to open the CA with: config.json, else Istio's default. */
export function caTrustDomain(caDir: string): string {
  return readCaConfig(caDir)?.trustDomain ?? DEFAULT_TRUST_DOMAIN;
}

export function writeCaConfig(caDir: string, cfg: CaConfig): void {
  fs.writeFileSync(caConfigPath(caDir), `${JSON.stringify(cfg, null, 2)}\n`, { mode: 0o644 });
}
