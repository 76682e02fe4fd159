// The few libc calls Node has no API for (setns, socket options such as SO_MARK,
// IP_TRANSPARENT, SO_ORIGINAL_DST), through koffi FFI. Typed wrappers keep koffi's
// `any` signatures out of the rest of the code; every wrapper throws a SyscallError.
import { getSystemErrorName } from 'node:util';
import { errno as lastErrno, load } from 'koffi';

export const CLONE_NEWNET = 0x40000000;
export const AF_INET = 2;
export const SOCK_STREAM = 1;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_REUSEPORT = 15;
export const SO_MARK = 36;
export const SOL_IP = 0;
export const IP_TRANSPARENT = 19;
export const SO_ORIGINAL_DST = 80;

/** A failed system call: `errno` and `code` as in Node's own errors, plus what we were doing. */
export class SyscallError extends Error {
  readonly code: string;
  constructor(readonly syscall: string, readonly errno: number, what: string) {
    const code = safeErrorName(errno);
    super(`${what}: ${syscall} failed: ${code} (errno ${errno})`);
    this.code = code;
  }
}

function safeErrorName(errno: number): string {
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `E${errno}`;
  }
}

interface Libc {
  setns(fd: number, nstype: number): number;
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, val: Buffer, len: number): number;
  getsockopt(fd: number, level: number, name: number, val: Buffer, len: Buffer): number;
  bind(fd: number, addr: Buffer, len: number): number;
  listen(fd: number, backlog: number): number;
  close(fd: number): number;
}

let libc: Libc | undefined;

// Loaded on first use, so importing this module costs nothing where it is never called.
function lib(): Libc {
  if (libc) return libc;
  const l = load('libc.so.6');
  const fn = <T>(decl: string): T => l.func(decl) as T;
  libc = {
    setns: fn('int setns(int fd, int nstype)'),
    socket: fn('int socket(int domain, int type, int protocol)'),
    setsockopt: fn('int setsockopt(int fd, int level, int optname, const void *optval, uint32_t optlen)'),
    getsockopt: fn('int getsockopt(int fd, int level, int optname, void *optval, void *optlen)'),
    bind: fn('int bind(int fd, const void *addr, uint32_t addrlen)'),
    listen: fn('int listen(int fd, int backlog)'),
    close: fn('int close(int fd)'),
  };
  return libc;
}

/** Runs a libc call; a -1 result becomes a SyscallError that says what we were doing. */
function check(syscall: string, what: string, r: number): number {
  if (r === -1) throw new SyscallError(syscall, lastErrno(), what);
  return r;
}

export const setns = (fd: number, what: string): number => check('setns', what, lib().setns(fd, CLONE_NEWNET));
export const socket = (what: string): number =>
  check('socket', what, lib().socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
export const listen = (fd: number, backlog: number, what: string): number => check('listen', what, lib().listen(fd, backlog));
export const closeFd = (fd: number): void => void lib().close(fd);

export function setIntOpt(fd: number, level: number, name: number, value: number, what: string): void {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value);
  check('setsockopt', what, lib().setsockopt(fd, level, name, b, 4));
}

/** getsockopt into a buffer of `size` bytes; returns the bytes the kernel filled in. */
export function getOpt(fd: number, level: number, name: number, size: number, what: string): Buffer {
  const val = Buffer.alloc(size);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(size);
  check('getsockopt', what, lib().getsockopt(fd, level, name, val, len));
  return val.subarray(0, len.readUInt32LE());
}

/** bind() to an IPv4 address (sockaddr_in: family LE, port and address in network order). */
export function bindV4(fd: number, host: string, port: number, what: string): void {
  const sa = Buffer.alloc(16);
  sa.writeUInt16LE(AF_INET, 0);
  sa.writeUInt16BE(port, 2);
  parseV4(host).copy(sa, 4);
  check('bind', what, lib().bind(fd, sa, sa.length));
}

export function parseV4(host: string): Buffer {
  const parts = host.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: '${host}' (only IPv4 is supported here so far)`);
  }
  return Buffer.from(parts);
}
