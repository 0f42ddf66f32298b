// Files sent with a form, to the owner only (docs/attachments.md).
export { sniff, expandAccept, FAMILIES, FAMILY_GROUPS, type Family, type Sniffed } from './sniff.js';
export { sanitizeFilename, MAX_FILENAME_LENGTH } from './filename.js';
export { uploadLimitsFor, fileFieldLimits, isFileField, DEFAULT_ATTACHMENTS, type UploadLimits, type FileFieldLimits } from './limits.js';
export { UploadedFile } from './uploaded.js';
export { insertAttachments, attachmentsForMail, listAttachments, attachmentUsage, deleteAttachmentsOf, type MailAttachment } from './store.js';
