// Issue #12, item 1: the start-up line names the address really bound (not 127.0.0.1 when it is 0.0.0.0)
// and the public URL, and each form's page under the public URL.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../config/load.js';
import { configTemplate } from '../config/demo.js';
import { startupInfo } from './serve.js';

const config = (server: string) => parseConfigText(configTemplate().replace(/server:\n(?: {2}.*\n)+/, `server:\n${server}\n`), 'test');

describe('the start-up line', () => {
  it('bound to 0.0.0.0: says every interface with the LAN addresses, and the public URL; the URL stays first for scripts', () => {
    const info = startupInfo(config('  host: 0.0.0.0\n  port: 8787\n  publicUrl: "http://192.168.1.20:8787"'), { address: '0.0.0.0', port: 8787 }, ['192.168.1.20']);
    expect(info.line).toContain('listening on http://0.0.0.0:8787 (every interface: http://192.168.1.20:8787)');
    expect(info.line).not.toContain('127.0.0.1');
    expect(info.line).toContain('public URL http://192.168.1.20:8787 (plain http: no HSTS, pages load over http)');
    expect(info.line).toContain('forms: http://192.168.1.20:8787/f/contact');
    expect(/formwarden: listening on (http:\/\/\S+)/.exec(info.line)?.[1]).toBe('http://0.0.0.0:8787');
  });

  it('bound to loopback with an https public URL: both, and the forms under the public URL', () => {
    const info = startupInfo(config('  host: 127.0.0.1\n  port: 8787\n  publicUrl: "https://forms.example.jp/"'), { address: '127.0.0.1', port: 8787 });
    expect(info.line).toBe('formwarden: listening on http://127.0.0.1:8787 - public URL https://forms.example.jp - forms: https://forms.example.jp/f/contact');
  });

  it('no public URL: says so and where mail links point; IPv6 addresses in brackets', () => {
    const info = startupInfo(config('  host: "::"\n  port: 9000'), { address: '::', port: 9000 }, []);
    expect(info.line).toContain('listening on http://[::]:9000 (every interface)');
    expect(info.line).toContain('public URL not set (server.publicUrl): mail links use http://[::]:9000');
    expect(info.line).toContain('forms: http://127.0.0.1:9000/f/contact');
  });
});
