// Reading a WordPress export (WXR, an RSS document) for Contact Form 7 forms: items of post type
// wpcf7_contact_form with their _form, _mail and _mail_2 postmeta. saxes reads the XML: a document with a
// DOCTYPE is refused (no DTD, so no entity expansion), and an undefined entity is an error.
import { SaxesParser } from 'saxes';

export interface WxrPostMeta {
  key: string;
  value: string;
}

export interface WxrItem {
  title: string;
  postId: string;
  postType: string;
  status: string;
  creator: string;
  content: string;
  meta: WxrPostMeta[];
}

export interface WxrDocument {
  site: { title: string; link: string; baseSiteUrl: string; description: string };
  authors: { login: string; email: string }[];
  items: WxrItem[];
}

export class WxrError extends Error {
  override name = 'WxrError';
}

export function looksLikeWxr(text: string): boolean {
  const head = text.slice(0, 4096);
  return /<rss[\s>]/.test(head) || (/^\s*(\uFEFF)?<\?xml/.test(text) && /wpcf7_contact_form|<channel[\s>]/.test(text));
}

export function parseWxr(xml: string): WxrDocument {
  const parser = new SaxesParser({ xmlns: false, position: true });
  const doc: WxrDocument = { site: { title: '', link: '', baseSiteUrl: '', description: '' }, authors: [], items: [] };
  const stack: string[] = [];
  let text = '';
  let item: WxrItem | null = null;
  let meta: Partial<WxrPostMeta> | null = null;
  let author: { login: string; email: string } | null = null;
  let failure: Error | null = null;

  parser.on('doctype', () => {
    throw new WxrError('the file has a DOCTYPE; a WordPress export has none (refused: no DTD, no entity expansion)');
  });
  parser.on('error', (e) => {
    failure ??= e;
    throw e;
  });
  parser.on('opentag', (tag) => {
    stack.push(tag.name);
    text = '';
    if (tag.name === 'item' && stack.length === 3) item = { title: '', postId: '', postType: '', status: '', creator: '', content: '', meta: [] };
    else if (tag.name === 'wp:postmeta' && item) meta = {};
    else if (tag.name === 'wp:author' && !item) author = { login: '', email: '' };
  });
  parser.on('text', (t) => (text += t));
  parser.on('cdata', (t) => (text += t));
  parser.on('closetag', (tag) => {
    const name = tag.name;
    const parent = stack[stack.length - 2];
    if (item) {
      if (meta && parent === 'wp:postmeta') {
        if (name === 'wp:meta_key') meta.key = text;
        else if (name === 'wp:meta_value') meta.value = text;
      } else if (name === 'wp:postmeta' && meta) {
        if (meta.key !== undefined) item.meta.push({ key: meta.key, value: meta.value ?? '' });
        meta = null;
      } else if (parent === 'item') {
        if (name === 'title') item.title = text;
        else if (name === 'wp:post_id') item.postId = text.trim();
        else if (name === 'wp:post_type') item.postType = text.trim();
        else if (name === 'wp:status') item.status = text.trim();
        else if (name === 'dc:creator') item.creator = text.trim();
        else if (name === 'content:encoded') item.content = text;
      } else if (name === 'item') {
        doc.items.push(item);
        item = null;
      }
    } else if (author && parent === 'wp:author') {
      if (name === 'wp:author_login') author.login = text.trim();
      else if (name === 'wp:author_email') author.email = text.trim();
    } else if (name === 'wp:author' && author) {
      doc.authors.push(author);
      author = null;
    } else if (parent === 'channel') {
      if (name === 'title') doc.site.title = text.trim();
      else if (name === 'link') doc.site.link = text.trim();
      else if (name === 'description') doc.site.description = text.trim();
      else if (name === 'wp:base_site_url') doc.site.baseSiteUrl = text.trim();
    }
    stack.pop();
    text = '';
  });
  try {
    parser.write(xml.replace(/^\uFEFF/, '')).close();
  } catch (e) {
    if (e instanceof WxrError) throw e;
    throw new WxrError(`not well-formed XML: ${(failure ?? (e as Error)).message}`);
  }
  return doc;
}
