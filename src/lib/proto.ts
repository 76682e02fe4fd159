// The one way to find and load the repository's .proto files (proto/), from src/ (tsx, tests)
// or dist/src/ (built) alike: gRPC service definitions through @grpc/proto-loader, message
// types through protobufjs (the codec proto-loader is built on). Field names stay as in the
// .proto (keepCase) everywhere.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

let found: string | undefined;

/** The repository's proto/ folder (looked up once, on first use). */
export function protoDir(): string {
  if (found) return found;
  const here = fileURLToPath(import.meta.url);
  let dir = path.dirname(here);
  for (let i = 0; i < 6; i++) {
    const p = path.join(dir, 'proto');
    if (fs.existsSync(path.join(p, 'istio'))) return (found = p);
    dir = path.dirname(dir);
  }
  throw new Error(`the proto/ folder was not found above ${here}: run ambit from its repository or install the proto/ folder beside dist/`);
}

/** Loads one gRPC service from a file under proto/ (imports resolve from proto/ too). */
export function loadGrpcService(file: string, service: string, longs: typeof Number | typeof String = Number): grpc.ServiceDefinition {
  const pkg = protoLoader.loadSync(path.join(protoDir(), file), { keepCase: true, longs, enums: String, defaults: true, oneofs: true, includeDirs: [protoDir()] });
  const def = pkg[service];
  if (!def || 'format' in def) throw new Error(`proto/${file} does not define the service ${service}`);
  return def as grpc.ServiceDefinition;
}

/** Loads message types from files under proto/ with protobufjs, resolved and ready to look up. */
export function loadProtoRoot(files: readonly string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(protoDir(), target);
  root.loadSync([...files], { keepCase: true });
  root.resolveAll();
  return root;
}

/**
 * google.protobuf.Value. protobufjs serves the well-known Struct types from its built-in
 * copy, which names fields in camelCase whatever keepCase says; accept both spellings.
 */
export interface PbValue {
  stringValue?: string;
  string_value?: string;
  numberValue?: number;
  boolValue?: boolean;
  kind?: string;
}

/** google.protobuf.Struct. */
export interface PbStruct {
  fields?: Record<string, PbValue | undefined>;
}

/** A Struct field as a string, in either spelling; undefined when absent or not a string. */
export function structString(s: PbStruct | null | undefined, key: string): string | undefined {
  const v = s?.fields?.[key];
  const x = v?.string_value ?? v?.stringValue;
  return typeof x === 'string' ? x : undefined;
}
