// Sites (docs/configuration.md#sites): which site a form belongs to. A form in no site uses the instance's
// budget, sender, secrets and breaker, exactly as an instance without `sites:`.
import type { Config, SiteConfig } from './schema.js';

export type { SiteConfig };

/** The site a form id belongs to, or undefined (instance defaults). */
export function siteOf(config: Pick<Config, 'sites'>, formId: string): SiteConfig | undefined {
  let index = cache.get(config.sites);
  if (!index) {
    index = new Map(config.sites.flatMap((s) => s.forms.map((f) => [f, s] as const)));
    cache.set(config.sites, index);
  }
  return index.get(formId);
}
const cache = new WeakMap<readonly SiteConfig[], Map<string, SiteConfig>>();

/** The breaker scope that stops a form's auto-replies besides its own: its site's, or the instance's. */
export function siteScopeOf(config: Pick<Config, 'sites'>, formId: string): string {
  const site = siteOf(config, formId);
  return site ? `site:${site.id}` : 'instance';
}

/** The form ids in no site (the instance scope's forms); every form when there are no sites. */
export function formsInNoSite(config: Pick<Config, 'sites' | 'forms'>): string[] {
  return config.forms.filter((f) => !siteOf(config, f.id)).map((f) => f.id);
}

/** The name a site's generated token key is stored under (store/secrets.ts). */
export const siteSecretName = (siteId: string) => `site:${siteId}:tokenKey`;
