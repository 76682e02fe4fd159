// Plain TCP relaying between two sockets (HBONE stream ↔ socket is hbone/splice.ts).
import type net from 'node:net';

/** Plain byte copy with half-close; an error on either side destroys both. */
export function pipeBoth(a: net.Socket, b: net.Socket): void {
  a.allowHalfOpen = true;
  b.allowHalfOpen = true;
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.once('close', (hadError) => hadError && b.destroy());
  b.once('close', (hadError) => hadError && a.destroy());
  a.pipe(b);
  b.pipe(a);
}
