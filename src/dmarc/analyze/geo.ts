// ASN and country of a DMARC source from the offline databases the geo defense uses (defenses.geo.countryDb,
// default the bundled ip-location-db country database; defenses.geo.asnDb when set). Opened on first use, so
// a report without DMARC data never reads them; a database that cannot be opened gives no answer.
import { createGeoDefense } from '../../defenses/geo/index.js';
import type { SourceLookup } from './section.js';

export function geoSourceLookup(geo: { countryDb?: string; asnDb?: string } = {}): SourceLookup {
  let lookup: ReturnType<typeof createGeoDefense>['lookup'] | null | undefined;
  return (ip) => {
    if (lookup === undefined) {
      try {
        lookup = createGeoDefense({ ...(geo.countryDb ? { countryDb: geo.countryDb } : {}), ...(geo.asnDb ? { asnDb: geo.asnDb } : {}) }).lookup;
      } catch {
        lookup = null;
      }
    }
    if (!lookup) return null;
    return { country: lookup.country(ip), asn: lookup.asn(ip) };
  };
}
