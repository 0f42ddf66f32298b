// A private Dovecot IMAP server on loopback for tests: its own config, Maildir, state and log in a
// temporary directory, run in the foreground (`dovecot -F`) on a free port, stopped afterwards.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { stablePort } from './ports.js';

export const DOVECOT = process.env.DOVECOT_PATH ?? '/usr/sbin/dovecot';

/** True (and a note on stderr) when Dovecot is absent outside CI; throws in CI, where it must be installed. */
export function dovecotMissing(): boolean {
  if (existsSync(DOVECOT)) return false;
  if (process.env.CI) throw new Error(`${DOVECOT} is missing: CI must install Debian's dovecot-imapd`);
  process.stderr.write(`[imap] skipped: ${DOVECOT} not found (apt-get install dovecot-imapd)\n`);
  return true;
}

function uidOf(name: string): { uid: number; gid: number } | null {
  const r = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
  const f = r.status === 0 ? r.stdout.trim().split(':') : [];
  return f.length >= 4 ? { uid: Number(f[2]), gid: Number(f[3]) } : null;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('data', (d) => { s.destroy(); resolve(d.toString().startsWith('* OK')); });
    s.once('error', () => resolve(false));
    s.setTimeout(2000, () => { s.destroy(); resolve(false); });
  });
}

export interface DovecotServer {
  host: string;
  port: number;
  user: string;
  pass: string;
  dir: string;
  /** imap://user:pass@127.0.0.1:port/INBOX */
  url(mailbox?: string): string;
  /** (re)start on the same port */
  start(): Promise<void>;
  /** stop the server (connections are cut) */
  stop(): Promise<void>;
  /** stop and delete the temporary directory */
  dispose(): Promise<void>;
  log(): string;
}

export async function startDovecot(opts: { user?: string; pass?: string } = {}): Promise<DovecotServer> {
  const user = opts.user ?? 'bounces';
  const pass = opts.pass ?? 'test-pass-1';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fw-dovecot-'));
  chmodSync(dir, 0o755); // Dovecot's unprivileged processes must reach the config, passwd file and Maildir.
  const port = await stablePort(); // stays ours across stop() and start()
  const root = process.getuid?.() === 0;
  // Mail is never accessed as root: use nobody when we are root, ourselves otherwise.
  const mailOwner = root ? (uidOf('nobody') ?? { uid: 65534, gid: 65534 }) : { uid: process.getuid!(), gid: process.getgid!() };
  const internalUser = root ? (uidOf('dovecot') ? 'dovecot' : 'nobody') : os.userInfo().username;
  const loginUser = root ? (uidOf('dovenull') ? 'dovenull' : 'nobody') : os.userInfo().username;
  for (const d of ['run', 'state', 'mail']) mkdirSync(path.join(dir, d));
  if (root) chownSync(path.join(dir, 'mail'), mailOwner.uid, mailOwner.gid);
  writeFileSync(path.join(dir, 'passwd'), `${user}:{PLAIN}${pass}::::::\n`, { mode: 0o644 });
  writeFileSync(path.join(dir, 'dovecot.conf'), `# Formwarden test server (generated)
protocols = imap
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = ${internalUser}
default_login_user = ${loginUser}
first_valid_uid = 1
first_valid_gid = 0
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/passwd
}
userdb {
  driver = static
  args = uid=${mailOwner.uid} gid=${mailOwner.gid} home=${dir}/mail/%u
}
mail_location = maildir:${dir}/mail/%u
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
`);
  let child: ChildProcess | null = null;
  const logFile = path.join(dir, 'dovecot.log');
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');

  const start = async () => {
    if (child) return;
    let stderr = '';
    const c = spawn(DOVECOT, ['-F', '-c', path.join(dir, 'dovecot.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    c.stderr!.on('data', (d) => (stderr += d));
    child = c;
    let exited = false;
    c.once('exit', () => { exited = true; if (child === c) child = null; });
    for (let i = 0; i < 100; i++) {
      if (exited) throw new Error(`dovecot exited at start: ${stderr}\n${log()}`);
      if (await canConnect(port)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`dovecot did not listen on ${port}: ${stderr}\n${log()}`);
  };
  const stop = async () => {
    const c = child;
    if (!c) return;
    child = null;
    const gone = new Promise<void>((r) => { if (c.exitCode !== null || c.signalCode !== null) r(); else c.once('exit', () => r()); });
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(t);
    // The port is free once nothing answers on it any more.
    for (let i = 0; i < 50 && (await canConnect(port)); i++) await new Promise((r) => setTimeout(r, 100));
  };
  await start();
  return {
    host: '127.0.0.1', port, user, pass, dir,
    url: (mailbox = 'INBOX') => `imap://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@127.0.0.1:${port}/${encodeURIComponent(mailbox)}`,
    start, stop,
    dispose: async () => { await stop(); rmSync(dir, { recursive: true, force: true }); },
    log,
  };
}
