// The limits one form's uploads are held to while the body streams in, from its file fields and the
// instance's `attachments` defaults. A form without file fields takes no files at all.
import type { Config, FieldConfig, FormConfig } from '../config/schema.js';
import { expandAccept, type Family } from './sniff.js';

export interface FileFieldLimits {
  maxBytes: number;
  maxFiles: number;
  accept: ReadonlySet<Family>;
}

export interface UploadLimits {
  /** Per file field. */
  fields: ReadonlyMap<string, FileFieldLimits>;
  /** Files in one post, over every field. */
  maxFiles: number;
  /** Bytes of every file in one post together. */
  maxTotalBytes: number;
}

/** The instance defaults when no configuration is at hand (the schema's defaults). */
export const DEFAULT_ATTACHMENTS: Config['attachments'] = { maxFileBytes: 5 * 1024 * 1024, maxFiles: 3, maxTotalBytes: 10 * 1024 * 1024, accept: ['image', 'pdf'] };

export const isFileField = (f: { type: string }): boolean => f.type === 'file';

export function fileFieldLimits(config: Pick<Config, 'attachments'>, field: FieldConfig): FileFieldLimits {
  const d = config.attachments;
  return {
    maxBytes: Math.min(field.maxBytes ?? d.maxFileBytes, d.maxTotalBytes),
    maxFiles: field.maxFiles ?? d.maxFiles,
    accept: expandAccept(field.accept ?? d.accept),
  };
}

export function uploadLimitsFor(config: Pick<Config, 'attachments'>, form: FormConfig): UploadLimits | null {
  const files = form.fields.filter(isFileField);
  if (files.length === 0) return null;
  const fields = new Map(files.map((f) => [f.name, fileFieldLimits(config, f)]));
  const maxFiles = [...fields.values()].reduce((n, f) => n + f.maxFiles, 0);
  return { fields, maxFiles, maxTotalBytes: config.attachments.maxTotalBytes };
}
