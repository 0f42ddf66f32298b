// Where the server listens and the public URL it announces, from the environment and the command line
// (`npm start -- --host 0.0.0.0`): the built-in demo follows them; a file's publicUrl is never guessed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { demoEnv, loadConfig, parseConfigText } from './load.js';
import { configTemplate } from './demo.js';

const LAN = ['192.168.1.20', '10.0.0.5'];
const dir = mkdtempSync(path.join(tmpdir(), 'fw-listen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the demo follows --host and --port', () => {
  it('every interface: the first LAN address, on the port asked for or 8787', () => {
    expect(demoEnv({ FORMWARDEN_HOST: '0.0.0.0' }, LAN).FORMWARDEN_PUBLIC_URL).toBe('http://192.168.1.20:8787');
    expect(demoEnv({ FORMWARDEN_HOST: '::', FORMWARDEN_PORT: '8080' }, LAN).FORMWARDEN_PUBLIC_URL).toBe('http://192.168.1.20:8080');
    // No LAN address at all: the machine itself.
    expect(demoEnv({ FORMWARDEN_HOST: '0.0.0.0' }, []).FORMWARDEN_PUBLIC_URL).toBe('http://127.0.0.1:8787');
  });
  it('one address: that address (IPv6 in brackets); a port alone keeps the loopback address', () => {
    expect(demoEnv({ FORMWARDEN_HOST: '192.168.1.20' }, LAN).FORMWARDEN_PUBLIC_URL).toBe('http://192.168.1.20:8787');
    expect(demoEnv({ FORMWARDEN_HOST: 'fd00::5', FORMWARDEN_PORT: '9000' }, LAN).FORMWARDEN_PUBLIC_URL).toBe('http://[fd00::5]:9000');
    expect(demoEnv({ FORMWARDEN_PORT: '8080' }, LAN).FORMWARDEN_PUBLIC_URL).toBe('http://127.0.0.1:8080');
  });
  it('left alone: nothing asked, a public URL given, or port 0 (known only once bound)', () => {
    expect(demoEnv({}, LAN)).toEqual({});
    expect(demoEnv({ FORMWARDEN_HOST: '0.0.0.0', FORMWARDEN_PUBLIC_URL: 'https://forms.example.jp' }, LAN).FORMWARDEN_PUBLIC_URL).toBe('https://forms.example.jp');
    expect(demoEnv({ FORMWARDEN_HOST: '0.0.0.0', FORMWARDEN_PORT: '0' }, LAN).FORMWARDEN_PUBLIC_URL).toBeUndefined();
  });
  it('loadConfig without a file: the demo listens and announces accordingly', () => {
    const { config, file } = loadConfig(undefined, { FORMWARDEN_HOST: '0.0.0.0', FORMWARDEN_PORT: '8080' }, dir);
    expect(file).toBeNull();
    expect(config.server.host).toBe('0.0.0.0');
    expect(config.server.port).toBe(8080);
    expect(config.server.publicUrl).toMatch(/^http:\/\/[\d.]+:8080$/);
    expect(config.server.publicUrl).not.toBe('http://127.0.0.1:8787');
  });
  it('a file: FORMWARDEN_HOST sets where it listens, its publicUrl stays', () => {
    const file = path.join(dir, 'formwarden.yaml');
    writeFileSync(file, configTemplate({ tokenKey: 'k'.repeat(32), linkKey: 'l'.repeat(32) }));
    const { config } = loadConfig(file, { FORMWARDEN_HOST: '0.0.0.0', FORMWARDEN_PORT: '8080' }, dir);
    expect(config.server.host).toBe('0.0.0.0');
    expect(config.server.port).toBe(8080);
    expect(config.server.publicUrl).toBe('http://127.0.0.1:8787');
  });
  it('FORMWARDEN_PUBLIC_URL sets the public URL of a file (a container behind a proxy)', () => {
    const config = parseConfigText(configTemplate(), 'test', { FORMWARDEN_PUBLIC_URL: 'https://forms.example.jp' });
    expect(config.server.publicUrl).toBe('https://forms.example.jp');
    // Mail links are built on it: only http(s).
    expect(() => parseConfigText(configTemplate(), 'test', { FORMWARDEN_PUBLIC_URL: 'javascript:alert(1)' })).toThrow(/server\.publicUrl: use http:\/\/ or https:\/\//);
  });
});
