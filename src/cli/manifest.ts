// Reading manifests for `ambit apply/delete -f`: files, directories (sorted, *.yaml|*.yml|*.json)
// or stdin; multi-document YAML; every object validated locally with errors naming the
// file, the document index and the field path.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { AmbitError, type AmbitCode } from '../lib/errors.js';
import type { KubeObject } from '../model/core/types.js';
import { validateObject } from '../model/core/validate.js';

export interface ManifestDoc {
  source: string; // file path or '-'
  index: number; // 0-based document index within the file
  obj: KubeObject;
}

/** The API server's request limit (3 MiB): a larger document could never be applied. */
const MAX_DOCUMENT_BYTES = 3 * 1024 * 1024;
/** YAML aliases expanded per document (the `yaml` package's guard against alias bombs). */
const MAX_ALIASES = 100;

export class ManifestError extends AmbitError {
  constructor(message: string, code: Extract<AmbitCode, `AMBIT_E_MANIFEST_${string}`> = 'AMBIT_E_MANIFEST_INVALID') {
    super(code, message);
  }
}

/** FILE, DIR (its *.yaml|*.yml|*.json, sorted) or '-' for stdin. */
export function listFiles(target: string): string[] {
  if (target === '-') return ['-'];
  let st: fs.Stats;
  try {
    st = fs.statSync(target);
  } catch {
    throw new ManifestError(`${target}: no such file or directory`, 'AMBIT_E_MANIFEST_NOT_FOUND');
  }
  if (!st.isDirectory()) return [target];
  return fs
    .readdirSync(target)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .map((f) => path.join(target, f));
}

export function readManifests(targets: string[], stdin: () => string = () => fs.readFileSync(0, 'utf8')): ManifestDoc[] {
  const docs: ManifestDoc[] = [];
  const errors: string[] = [];
  for (const t of targets) {
    for (const file of listFiles(t)) {
      let text: string;
      try {
        text = file === '-' ? stdin() : new TextDecoder('utf-8', { fatal: true }).decode(fs.readFileSync(file));
      } catch (e) {
        errors.push(`${file}: ${e instanceof TypeError ? 'not valid UTF-8 text' : (e as Error).message}`);
        continue;
      }
      const parsed = parseAllDocuments(text);
      const list = Array.isArray(parsed) ? parsed : [parsed];
      list.forEach((doc, index) => {
        if (doc.errors.length) {
          errors.push(`${file}: document ${index}: YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
          return;
        }
        const [start = 0, , end = 0] = doc.range ?? [];
        if (end - start > MAX_DOCUMENT_BYTES) {
          errors.push(`${file}: document ${index}: ${end - start} bytes, larger than the API server's ${MAX_DOCUMENT_BYTES}-byte limit`);
          return;
        }
        let value: unknown;
        try {
          value = doc.toJS({ maxAliasCount: MAX_ALIASES });
        } catch (e) {
          errors.push(`${file}: document ${index}: YAML: ${(e as Error).message} (at most ${MAX_ALIASES} alias expansions per document)`);
          return;
        }
        if (value === null || value === undefined) return; // empty document
        const items = isList(value) ? value.items : [value];
        items.forEach((item) => {
          const r = validateObject(item);
          if (!r.ok) {
            for (const e of r.errors) errors.push(`${file}: document ${index}: ${e.path ? `${e.path}: ` : ''}${e.message}`);
          } else docs.push({ source: file, index, obj: r.value });
        });
      });
    }
  }
  if (errors.length) throw new ManifestError(errors.join('\n'));
  return docs;
}

function isList(v: unknown): v is { items: unknown[] } {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'List' && Array.isArray((v as { items?: unknown }).items);
}
