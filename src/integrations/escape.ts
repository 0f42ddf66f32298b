// Visitor text for each target's markup. A chat message is the owner's template (trusted: it may
// mention @here on purpose) with visitor values spliced in; a visitor value must not mention, link, tag,
// format or leave its place. Every chat target first gets plainVisitorText (no control, bidi or zero-width
// characters; links, addresses and domains defanged; bounded), then its own escaping.
import { defang } from '../relay/defang.js';

/** Code points kept of one visitor value, and its lines. */
export const VISITOR_VALUE_MAX = 2000;
export const VISITOR_LINES_MAX = 50;

/** Line breaks of every kind become \n; other controls and format characters (bidi, zero-width) go. */
export function normalizeVisitorText(value: string, max = VISITOR_VALUE_MAX): string {
  const cps = Array.from(value.length > max * 4 ? value.slice(0, max * 4) : value);
  const cut = cps.length > max ? `${cps.slice(0, max).join('')}…` : cps.join('');
  const lines = cut
    .replace(/\r\n|[\r\u0085\u2028\u2029\v\f]/g, '\n')
    .replace(/[\p{Cc}\p{Cf}]/gu, (c) => (c === '\n' ? c : c === '\t' ? ' ' : ''))
    .split('\n');
  return lines.length > VISITOR_LINES_MAX ? `${lines.slice(0, VISITOR_LINES_MAX).join('\n')}…` : lines.join('\n');
}

/**
 * For a chat target: normalized, every line defanged (hxxps://evil[.]example, name[at]example[.]jp,
 * example[.]com: no app makes a link of it), and '@' full-width so no @here/@channel/@everyone forms.
 */
export function plainVisitorText(value: string): string {
  return normalizeVisitorText(value)
    .split('\n')
    .map((line) => liveSchemesOff(defang(defang(line, VISITOR_VALUE_MAX + 1), VISITOR_VALUE_MAX + 2)).replace(/@/g, '＠'))
    .join('\n');
}

/**
 * A URL glued to a word ("see.comhttps://x") or inside another's tail keeps a live part after one defang
 * pass: a second pass brackets the word's dots, and any scheme:// still live becomes scheme[://].
 */
function liveSchemesOff(s: string): string {
  return s.replace(/([a-z][a-z0-9+.-]*):\/\//gi, (m, scheme: string) => (/^hxxps?$/i.test(scheme) ? m : `${scheme}[://]`));
}

const FULLWIDTH: Record<string, string> = {
  '[': '［', ']': '］', '(': '（', ')': '）', '<': '＜', '>': '＞', '{': '｛', '}': '｝', '*': '＊', '_': '＿', '~': '～',
  '`': '｀', '|': '｜', '#': '＃', '&': '＆', '\\': '＼', '!': '！', '$': '＄',
};
const fullwidth = (chars: RegExp) => (s: string) => s.replace(chars, (c) => FULLWIDTH[c] ?? c);

/**
 * Slack mrkdwn: &, <, > escaped (no <!here>, <@U…>, <#C…>, <url|text>); the formatting characters
 * * _ ~ ` become look-alikes, so nothing bolds, strikes or opens a code block around the owner's text.
 */
export function slackVisitor(value: string): string {
  return fullwidth(/[*_~`|]/g)(plainVisitorText(value)).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Discord markdown: every ASCII punctuation that means something is backslash-escaped. */
export const DISCORD_SPECIAL = /[\\*_~`|<>#[\]()\-:@!.+=]/g;
export function discordVisitor(value: string): string {
  return plainVisitorText(value).replace(DISCORD_SPECIAL, (c) => `\\${c}`);
}

/**
 * Teams (Adaptive Card TextBlock: a Markdown subset, {{DATE()}} functions; MessageCard also reads HTML):
 * the characters of links, emphasis, HTML and functions become full-width look-alikes.
 */
export const TEAMS_SPECIAL = /[[\]()<>{}*_~`|#&\\!$]/g;
export function teamsVisitor(value: string): string {
  return fullwidth(TEAMS_SPECIAL)(plainVisitorText(value));
}

/** Chatwork: no ASCII square bracket, so no tag ([toall], [To:123], [/info], [code], ...) can form. */
export function chatworkVisitor(value: string): string {
  return fullwidth(/[[\]]/g)(plainVisitorText(value));
}

/** Generic JSON: the text as typed, without control or format characters; JSON does the rest. */
export function jsonVisitor(value: string): string {
  return normalizeVisitorText(value);
}

/** JSON that is also safe to paste into HTML or a script (<, >, &, U+2028/9 escaped). */
export function safeJson(v: unknown): string {
  return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Cuts `text` to `max` code points, marking the cut. */
export function clip(text: string, max: number): string {
  const cps = Array.from(text);
  return cps.length > max ? `${cps.slice(0, max - 1).join('')}…` : text;
}
