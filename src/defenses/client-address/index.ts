// Resolve the real client address behind trusted reverse proxies, and the network key used for
// per-network rate limits. Forwarding headers are honoured only when the socket peer is a trusted proxy.
import ipaddr from 'ipaddr.js';

type Addr = ipaddr.IPv4 | ipaddr.IPv6;

// Every request parses its address several times (client address, lists, rate limits, geo): the
// results are memoised. Bounded: the whole memo is dropped when full. Addr objects are never mutated.
function memoise<T>(fn: (input: string) => T, max = 10_000): (input: string) => T {
  let memo = new Map<string, T>();
  return (input) => {
    const hit = memo.get(input);
    if (hit !== undefined || memo.has(input)) return hit as T;
    const v = fn(input);
    if (memo.size >= max) memo = new Map();
    memo.set(input, v);
    return v;
  };
}

const parseMemo = memoise(parseUncached);

/** Parses an address (IPv4-mapped IPv6 becomes IPv4; zone ids, brackets and ports are removed). Null if invalid. */
export function parseAddress(input: string | undefined | null): Addr | null {
  return input ? parseMemo(input) : null;
}

function parseUncached(input: string): Addr | null {
  let s = input.trim();
  if (s.startsWith('"') && s.endsWith('"')) s = s.slice(1, -1);
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0) return null;
    s = s.slice(1, end);
  } else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(s)) {
    s = s.slice(0, s.lastIndexOf(':'));
  }
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (!ipaddr.isValid(s)) return null;
  // ipaddr.isValid accepts odd IPv4 forms (octal, "1", hex); accept only dotted-quad IPv4 and real IPv6.
  if (!s.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(s)) return null;
  return ipaddr.process(s);
}

/** Canonical text of an address (IPv4 dotted quad; IPv6 RFC 5952 compressed), or the input if invalid. */
export const normalizeAddress: (input: string) => string = memoise((input) => parseAddress(input)?.toString() ?? input);

export interface CidrMatcher {
  (ip: Addr): boolean;
  readonly size: number;
}

/** Compiles a list of IPs and CIDRs into a matcher; throws a clear error on a bad entry. */
export function compileCidrs(list: readonly string[], what = 'trustProxy'): CidrMatcher {
  const ranges: [Addr, number][] = list.map((entry, i) => {
    try {
      return parseCidrOrIp(entry);
    } catch {
      throw new Error(`${what}[${i}]: "${entry}" is not an IP address or CIDR (e.g. 10.0.0.0/8, 2001:db8::/32, 127.0.0.1)`);
    }
  });
  const fn = ((ip: Addr) => ranges.some(([net, bits]) => net.kind() === ip.kind() && ip.match(net, bits))) as CidrMatcher;
  Object.defineProperty(fn, 'size', { value: ranges.length });
  return fn;
}

export function parseCidrOrIp(entry: string): [Addr, number] {
  const s = entry.trim();
  if (s.includes('/')) {
    const [net, bits] = ipaddr.parseCIDR(s);
    if (net.kind() === 'ipv6' && (net as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
      return [(net as ipaddr.IPv6).toIPv4Address(), bits - 96];
    }
    return [net, bits];
  }
  const a = parseAddress(s);
  if (!a) throw new Error(`bad address ${entry}`);
  return [a, a.kind() === 'ipv4' ? 32 : 128];
}

const compiledCache = new WeakMap<readonly string[], CidrMatcher>();

function forwardedFor(headers: Record<string, string | string[] | undefined>, header: ForwardHeader): string[] {
  const raw = headers[header];
  const value = Array.isArray(raw) ? raw.join(',') : raw;
  if (!value) return [];
  if (header === 'x-forwarded-for') return value.split(',').map((s) => s.trim()).filter(Boolean);
  // RFC 7239: Forwarded: for=192.0.2.60;proto=http, for="[2001:db8::1]:4711"
  const out: string[] = [];
  for (const element of value.split(',')) {
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      if (pair.slice(0, eq).trim().toLowerCase() === 'for') out.push(pair.slice(eq + 1).trim());
    }
  }
  return out;
}

export type ForwardHeader = 'x-forwarded-for' | 'forwarded';

/**
 * The client address. If the socket peer is a trusted proxy, walks the forwarding chain from the right,
 * skipping trusted hops; the first untrusted hop is the client. An unparsable hop stops the walk at the
 * last good (trusted) hop. Only one header is read (default X-Forwarded-For): reading both would let a
 * client forge the one its proxy does not overwrite.
 */
export function clientAddress(
  socketIp: string,
  headers: Record<string, string | string[] | undefined>,
  trustProxy: readonly string[] | CidrMatcher,
  opts: { header?: ForwardHeader } = {},
): string {
  const socket = parseAddress(socketIp);
  if (!socket) return socketIp;
  let trusted: CidrMatcher;
  if (typeof trustProxy === 'function') trusted = trustProxy;
  else {
    let c = compiledCache.get(trustProxy);
    if (!c) {
      c = compileCidrs(trustProxy);
      compiledCache.set(trustProxy, c);
    }
    trusted = c;
  }
  if (trusted.size === 0 || !trusted(socket)) return normalizeAddress(socketIp);
  const chain = forwardedFor(headers, opts.header ?? 'x-forwarded-for');
  let current: Addr = socket;
  for (let i = chain.length - 1; i >= 0; i--) {
    const hop = parseAddress(chain[i]);
    if (!hop) break;
    current = hop;
    if (!trusted(hop)) break;
  }
  return current === socket ? normalizeAddress(socketIp) : current.toString();
}

/** The network a rate limit groups by: /24 for IPv4, /64 for IPv6 (e.g. "203.0.113.0/24", "2001:db8:1:2::/64"). */
export const networkKey: (ip: string) => string = memoise(networkKeyUncached);

function networkKeyUncached(ip: string): string {
  const a = parseAddress(ip);
  if (!a) return ip;
  if (a.kind() === 'ipv4') {
    const o = (a as ipaddr.IPv4).octets;
    return `${o[0]}.${o[1]}.${o[2]}.0/24`;
  }
  const p = (a as ipaddr.IPv6).parts.slice(0, 4);
  return `${new ipaddr.IPv6([...p, 0, 0, 0, 0]).toString()}/64`;
}
