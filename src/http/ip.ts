// Client addresses as one canonical text: IPv4-mapped IPv6 (::ffff:1.2.3.4) becomes 1.2.3.4.
export function normalizeIp(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return (m ? m[1]! : ip).toLowerCase();
}
