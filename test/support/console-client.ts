// A browser's cookie jar against the console (one origin): log in through the login form (its CSRF token
// and cookie), then request pages with the session cookie. For tests of /admin/ routes.

export const CONSOLE_PASSWORD = 'correct horse battery';

export class ConsoleClient {
  cookies = new Map<string, string>();
  constructor(private base: string) {}
  async req(path: string, init: RequestInit & { form?: Record<string, string> } = {}) {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    let body = init.body;
    if (init.form) {
      headers.set('content-type', 'application/x-www-form-urlencoded');
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(this.base + path, { ...init, headers, body, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [k, v] = pair!.split('=');
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(c) || v === '') this.cookies.delete(k!);
      else this.cookies.set(k!, v!);
    }
    return res;
  }
  async loginToken(): Promise<string> {
    const page = await (await this.req('/admin/login')).text();
    return /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
  }
  async login(email: string, password = CONSOLE_PASSWORD) {
    const token = await this.loginToken();
    return this.req('/admin/login', { method: 'POST', form: { _csrf: token, email, password } });
  }
  async csrf(): Promise<string> {
    const page = await (await this.req('/admin/inbox')).text();
    return /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
  }
}
