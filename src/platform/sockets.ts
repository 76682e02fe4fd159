// Sockets that live in a pod's network namespace but belong to this (host-netns) process,
// as ztunnel's in-pod mode does (spec §6.5, shared/reference/capture.md).
// Only socket() runs inside the pod netns: a socket keeps its netns for life, so we do
// setns(pod) → socket() → setns(home), synchronously on the JS thread (setns is per-thread;
// no other JS can run in between, and libuv's threadpool is unaffected). Everything after
// that (options, bind, listen, connect) is ordinary Node on the resulting fd.
import { closeSync, openSync } from 'node:fs';
import net from 'node:net';
import { isV4Mapped } from '../lib/ip.js';
import {
  IP_TRANSPARENT,
  SOL_IP,
  SOL_SOCKET,
  SO_MARK,
  SO_ORIGINAL_DST,
  SO_REUSEADDR,
  SO_REUSEPORT,
  bindV4,
  closeFd,
  getOpt,
  listen,
  setIntOpt,
  setns,
  socket,
} from './libc.js';

export { SyscallError } from './libc.js';

export interface ListenOptions {
  port: number;
  host: string;
  /** IP_TRANSPARENT: accept connections for non-local addresses (tproxy) — set before bind. */
  transparent?: boolean;
  /** SO_REUSEPORT: an old and a new tunnel can listen at once during an upgrade. */
  reusePort?: boolean;
  /** SO_MARK, inherited by accepted sockets (0x539 keeps them out of capture). */
  mark?: number;
  backlog?: number;
}

export interface ConnectOptions {
  host: string;
  port: number;
  /** Source address; a non-local one (the original client's IP) needs `transparent`. */
  localAddress?: string;
  mark?: number;
  transparent?: boolean;
}

export interface Address {
  address: string;
  port: number;
}

/** The OS layer of the node tunnel: the only place that touches netns and socket options. */
export interface SocketFactory {
  listenInNetns(netnsPath: string, opts: ListenOptions): net.Server;
  connectFromNetns(netnsPath: string, opts: ConnectOptions): net.Socket;
  originalDst(socket: net.Socket): Address;
  setMark(fd: number, mark: number): void;
}

let homeNetns: number | undefined;

/** Our own netns, opened once before any setns so we can always come back. */
function homeFd(): number {
  homeNetns ??= openSync('/proc/thread-self/ns/net', 'r');
  return homeNetns;
}

/** Creates a TCP socket inside the netns at netnsPath (e.g. /run/netns/<name>). */
export function socketInNetns(netnsPath: string): number {
  const home = homeFd();
  const target = openSync(netnsPath, 'r');
  try {
    setns(target, `entering network namespace ${netnsPath}`);
    let fd: number;
    try {
      fd = socket(`creating a socket in ${netnsPath}`);
    } finally {
      restoreHome(home, netnsPath);
    }
    return fd;
  } finally {
    closeSync(target);
  }
}

// A JS thread stuck in a pod's netns would open every later socket there: abort instead.
function restoreHome(home: number, from: string): void {
  try {
    setns(home, `returning from ${from} to the home network namespace`);
  } catch (e) {
    process.stderr.write(`FATAL: ${(e as Error).message}; aborting\n`);
    process.abort();
  }
}

/** Applies opts to a fresh fd; closes it on failure so no fd leaks. */
function configure(fd: number, apply: () => void): void {
  try {
    apply();
  } catch (e) {
    closeFd(fd);
    throw e;
  }
}

export function setMark(fd: number, mark: number): void {
  setIntOpt(fd, SOL_SOCKET, SO_MARK, mark, `setting SO_MARK 0x${mark.toString(16)} on fd ${fd}`);
}

function setTransparent(fd: number, what: string): void {
  setIntOpt(fd, SOL_IP, IP_TRANSPARENT, 1, `setting IP_TRANSPARENT on ${what}`);
}

export function listenInNetns(netnsPath: string, opts: ListenOptions): net.Server {
  const what = `listener ${opts.host}:${opts.port} in ${netnsPath}`;
  const fd = socketInNetns(netnsPath);
  configure(fd, () => {
    setIntOpt(fd, SOL_SOCKET, SO_REUSEADDR, 1, `setting SO_REUSEADDR on ${what}`);
    if (opts.reusePort) setIntOpt(fd, SOL_SOCKET, SO_REUSEPORT, 1, `setting SO_REUSEPORT on ${what}`);
    if (opts.transparent) setTransparent(fd, what);
    if (opts.mark !== undefined) setMark(fd, opts.mark);
    bindV4(fd, opts.host, opts.port, `binding ${what}`);
    listen(fd, opts.backlog ?? 128, `listening on ${what}`);
  });
  // libuv calls listen() again on the fd, which is harmless; the server now owns the fd.
  // TCP_NODELAY on every accepted socket: a proxy re-segments, so Nagle would only add delay
  // (the app chose its own Nagle behaviour on its side).
  return net.createServer({ noDelay: true }).listen({ fd });
}

export function connectFromNetns(netnsPath: string, opts: ConnectOptions): net.Socket {
  const what = `connection to ${opts.host}:${opts.port} from ${netnsPath}`;
  const fd = socketInNetns(netnsPath);
  configure(fd, () => {
    if (opts.mark !== undefined) setMark(fd, opts.mark);
    // Before bind: binding a non-local source address needs it (EADDRNOTAVAIL otherwise).
    if (opts.transparent) setTransparent(fd, what);
  });
  // libuv reuses the unconnected fd for bind()+connect(), so this is a normal net.Socket.
  const target = { host: opts.host, port: opts.port };
  const socket = new net.Socket({ fd }).connect(opts.localAddress === undefined ? target : { ...target, localAddress: opts.localAddress });
  socket.setNoDelay(true);
  return socket;
}

/** The fd under a net.Socket (undocumented `_handle.fd`, stable on Linux). */
export function socketFd(socket: net.Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('socket has no file descriptor (closed, or not a TCP socket)');
  return fd;
}

/** Where a REDIRECTed connection was going: getsockopt(SOL_IP, SO_ORIGINAL_DST). IPv4 only. */
export function originalDst(socket: net.Socket): Address {
  if (socket.localFamily === 'IPv6' && !isV4Mapped(socket.localAddress ?? '')) {
    throw new Error('originalDst: IPv6 (IP6T_SO_ORIGINAL_DST) is not supported yet');
  }
  const fd = socketFd(socket);
  const sa = getOpt(fd, SOL_IP, SO_ORIGINAL_DST, 16, `reading the original destination of fd ${fd}`);
  if (sa.length < 8) throw new Error(`originalDst: short sockaddr (${sa.length} bytes)`);
  return { address: [...sa.subarray(4, 8)].join('.'), port: sa.readUInt16BE(2) };
}

/** The koffi-backed factory; the node tunnel depends on SocketFactory only. */
export const ffiSockets: SocketFactory = { listenInNetns, connectFromNetns, originalDst, setMark };
