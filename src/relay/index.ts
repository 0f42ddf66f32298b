// Public surface of the relay-safety module.
export type { CapWindowView, EchoMode, LintIssue, RelayAutoreplyView, RelayCapsView, RelayFieldType, RelayFieldView, RelayFormView } from './types.js';
export { SYSTEM_PLACEHOLDERS, isSystemPlaceholder, placeholderNames, scanTemplate } from './placeholders.js';
export type { PlaceholderRef, SystemPlaceholder, TemplateScan } from './placeholders.js';
export { formPath, lintForm, visitorFieldsIn } from './template-lint.js';
export { formatRelayReport, relayRisks } from './risks.js';
export type { RelayRisk } from './risks.js';
export { DOMAIN_LIKE_RE, FIELD_ECHO_MAX, NAME_ECHO_MAX, echoCapFor, sanitizeVisitorText, truncateCodePoints } from './sanitize.js';
export { PROVIDER_RULES, SUBDOMAIN_ADDRESSING, addressDomain, autoreplyRecipient, isLiteralAddress, normalizeAddress } from './address.js';
export type { RecipientVerdict, WithheldReason } from './address.js';
export { DAY, DEFAULT_CAPS, HOUR, capKeys, capProblems, describeCaps, formatWindow, hasFormLevelCap, resolveCapPolicy } from './caps.js';
export type { CapKey, CapPolicy, CapScope, CapWindow } from './caps.js';
export { DEFANG_MAX, defang } from './defang.js';
