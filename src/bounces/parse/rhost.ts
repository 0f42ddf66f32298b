// Provider-specific error labels quoted in remote replies, mapped to reasons. These are the
// documented codes of large mailbox providers (e.g. Orange/La Poste "OFR006_102", "LPN007_416").
import type { BounceReason } from './types.js';

/** Orange / Wanadoo / La Poste: the last three digits of the OFR/LPN/OUK label. '' = no decision. */
const FRANCE_PTT: Record<string, BounceReason | 'undefined'> = {
  '101': 'blocked', '102': 'blocked', '103': 'blocked', '104': 'toomanyconn', '105': 'undefined', '107': 'undefined',
  '108': 'undefined', '109': 'undefined', '201': 'undefined', '305': 'securityerror', '401': 'authfailure',
  '402': 'securityerror', '403': 'rejected', '405': 'rejected', '415': 'rejected', '416': 'userunknown',
  '417': 'mailboxfull', '420': 'suspend', '421': 'rejected', '423': 'undefined', '424': 'undefined', '426': 'suspend',
  '505': 'systemerror', '506': 'spamdetected', '510': 'blocked', '513': 'undefined', '514': 'mesgtoobig',
  '517': 'authfailure', '630': 'policyviolation', '999': 'blocked',
};

const FRANCE_LABEL = /\b(?:LPNAAA|LPN|OFR|OUK)\d*[_-]?(\d{3})\b/i;

/** A reason decided by a provider's own error label, or '' when none is present. */
export function providerReason(diagnostic: string): BounceReason | '' {
  const m = FRANCE_LABEL.exec(diagnostic);
  if (m) return FRANCE_PTT[m[1] ?? ''] ?? '';
  return '';
}
