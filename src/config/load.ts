// Reading and validating the configuration. Failures are values (ConfigError) that name the key path,
// what is wrong and how to fix it; the CLI turns them into exit code 2.
import { existsSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configTemplate } from './demo.js';
import { dkimKeyProblem } from '../mail/dkim.js';
import { lintForm } from '../relay/template-lint.js';
import { lintNotifyCoverage, lintTranslations } from './mail-lint.js';
import type { LintIssue } from '../relay/types.js';
import { configSchema, type Config } from './schema.js';

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`Invalid configuration in ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadedConfig {
  config: Config;
  /** The file the config came from, or null for the embedded demo. */
  file: string | null;
  /** The folder relative paths (SQLite file, data) are resolved against. */
  baseDir: string;
}

/** Which file to read: --config, then FORMWARDEN_CONFIG, then ./formwarden.yaml if it exists. */
export function resolveConfigPath(explicit: string | undefined, env = process.env, cwd = process.cwd()): string | null {
  if (explicit) return path.resolve(cwd, explicit);
  if (env.FORMWARDEN_CONFIG) return path.resolve(cwd, env.FORMWARDEN_CONFIG);
  const local = path.resolve(cwd, 'formwarden.yaml');
  return existsSync(local) ? local : null;
}

export interface LoadOptions {
  /** Skip the relay lint (only `formwarden selftest` does, to measure what an unsafe config would do). */
  lint?: boolean;
}

export function loadConfig(explicit?: string, env = process.env, cwd = process.cwd(), opts: LoadOptions = {}): LoadedConfig {
  const file = resolveConfigPath(explicit, env, cwd);
  if (file && !existsSync(file)) {
    throw new ConfigError(file, [`the file does not exist. Fix: create it with \`npx formwarden init --config ${file}\`, or point --config at an existing file`]);
  }
  const text = file ? readFileSync(file, 'utf8') : configTemplate();
  const config = parseConfigText(text, file ?? '(built-in demo configuration)', file ? env : demoEnv(env), opts);
  const baseDir = file ? path.dirname(file) : cwd;
  // The DKIM key must be readable and usable before anything starts (relative to the file's folder).
  const dkimProblem = dkimKeyProblem(config.mail.dkim, baseDir);
  if (dkimProblem) throw new ConfigError(file ?? '(built-in demo configuration)', [dkimProblem]);
  return { config, file, baseDir };
}

export function parseConfigText(text: string, source: string, env: NodeJS.ProcessEnv = {}, opts: LoadOptions = {}): Config {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => `YAML syntax: ${e.message.split('\n')[0]}. Fix: check indentation and quoting near that line`),
    );
  }
  let raw: Record<string, unknown>;
  try {
    raw = (doc.toJS({ maxAliasCount: 100 }) ?? {}) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(source, [`YAML: ${(e as Error).message}. Fix: define each &anchor before its *alias, and do not nest aliases`]);
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(source, ['the file must be a YAML mapping (key: value). Fix: start from `npx formwarden init`']);
  }
  applyEnv(raw, env);
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(source, result.error.issues.map((i) => describeIssue(i, raw)));
  const errors = opts.lint === false ? [] : lintConfig(result.data).filter((i) => i.severity === 'error');
  if (errors.length > 0) throw new ConfigError(source, errors.map((i) => i.message));
  return result.data;
}

/** The relay lint of every form: visitor text in auto-replies, visitor-chosen recipients, caps. */
export function lintConfig(config: Config): LintIssue[] {
  const issues = config.forms.flatMap((form) => [...lintForm(form), ...lintTranslations(form), ...lintNotifyCoverage(form)]);
  if (!config.server.publicUrl && config.forms.some((f) => f.autoreply?.enabled)) {
    issues.push({
      severity: 'warning',
      path: 'server.publicUrl',
      code: 'W_PUBLIC_URL_UNSET',
      message: `server.publicUrl is not set: the unsubscribe link in every auto-reply points to http://${config.server.host}:${config.server.port}, which recipients cannot reach. Fix: set server.publicUrl to the address visitors use, e.g. https://forms.example.jp`,
    });
  }
  return issues;
}

/**
 * The built-in demo is reached where it listens: with FORMWARDEN_HOST (`npm start -- --host 0.0.0.0`) or
 * FORMWARDEN_PORT its public URL (the page's links, mail links, the start-up line) follows them, on every
 * interface the machine's first LAN address, unless FORMWARDEN_PUBLIC_URL says otherwise. A file's settings
 * are never guessed.
 */
export function demoEnv(env: NodeJS.ProcessEnv, lan: readonly string[] = lanAddresses()): NodeJS.ProcessEnv {
  if (env.FORMWARDEN_PUBLIC_URL || (!env.FORMWARDEN_HOST && !env.FORMWARDEN_PORT)) return env;
  const port = env.FORMWARDEN_PORT && /^\d+$/.test(env.FORMWARDEN_PORT) ? Number(env.FORMWARDEN_PORT) : 8787;
  if (port === 0) return env; // known only once bound
  const host = env.FORMWARDEN_HOST || '127.0.0.1';
  const reach = host === '0.0.0.0' || host === '::' ? (lan[0] ?? '127.0.0.1') : host;
  return { ...env, FORMWARDEN_PUBLIC_URL: `http://${hostPart(reach)}:${port}` };
}

/** An address as the host part of a URL (an IPv6 literal in brackets). */
export const hostPart = (address: string) => (address.includes(':') ? `[${address}]` : address);

/** This machine's non-loopback IPv4 addresses. */
export function lanAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((i) => !!i && i.family === 'IPv4' && !i.internal)
    .map((i) => i!.address);
}

/** Secrets, the database URL, the mail transport, the address and port to listen on and the public URL may come from the environment, which wins over the file. */
function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  const set = (section: string, key: string, value: string | undefined) => {
    if (value === undefined || value === '') return;
    const obj = (raw[section] ??= {}) as Record<string, unknown>;
    if (typeof obj === 'object' && obj !== null) obj[key] = value;
  };
  set('secrets', 'tokenKey', env.FORMWARDEN_TOKEN_KEY);
  set('secrets', 'linkKey', env.FORMWARDEN_LINK_KEY);
  set('database', 'url', env.FORMWARDEN_DATABASE_URL);
  set('mail', 'transport', env.FORMWARDEN_MAIL_TRANSPORT);
  set('redis', 'url', env.FORMWARDEN_REDIS_URL);
  set('server', 'host', env.FORMWARDEN_HOST);
  set('server', 'publicUrl', env.FORMWARDEN_PUBLIC_URL);
  if (env.FORMWARDEN_PORT !== undefined && /^\d+$/.test(env.FORMWARDEN_PORT)) {
    const server = (raw.server ??= {}) as Record<string, unknown>;
    if (typeof server === 'object' && server !== null) server.port = Number(env.FORMWARDEN_PORT);
  }
}

/** A key path people can find in their file: forms[contact].fields[2].type */
export function formatPath(pathParts: readonly PropertyKey[], raw: unknown): string {
  let out = '';
  let node: unknown = raw;
  for (const part of pathParts) {
    if (typeof part === 'number') {
      const item = Array.isArray(node) ? node[part] : undefined;
      const id = item && typeof item === 'object' ? ((item as Record<string, unknown>).id ?? (item as Record<string, unknown>).name) : undefined;
      out += typeof id === 'string' && /^[\w-]+$/.test(id) ? `[${id}]` : `[${part}]`;
      node = item;
    } else {
      out += out ? `.${String(part)}` : String(part);
      node = node && typeof node === 'object' ? (node as Record<string, unknown>)[part as string] : undefined;
    }
  }
  return out || '(top level)';
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  const where = formatPath(issue.path, raw);
  switch (issue.code) {
    case 'unrecognized_keys':
      return `${where}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}. Fix: remove it or check the spelling (see docs/configuration.md)`;
    case 'invalid_type': {
      const got = valueAt(issue.path, raw);
      if (got === undefined) return `${where}: required (${issue.expected}) but missing. Fix: add ${where}`;
      return `${where}: expected ${issue.expected}, got ${describeValue(got)}. Fix: write a ${issue.expected} here`;
    }
    case 'invalid_value':
      return `${where}: ${JSON.stringify(valueAt(issue.path, raw))} is not allowed. Fix: use one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
    case 'too_big':
      return `${where}: ${issue.message}. Fix: change the value to fit`;
    default:
      return `${where}: ${issue.message}. Fix: correct ${where} (see docs/configuration.md)`;
  }
}

function valueAt(pathParts: readonly PropertyKey[], raw: unknown): unknown {
  let node = raw;
  for (const p of pathParts) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[p];
  }
  return node;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}
