// A file as it arrived in a multipart body. Only the multipart parser creates these, so a JSON or
// urlencoded body can never pass something that looks like a file: validation checks `instanceof`.
export class UploadedFile {
  constructor(
    /** The form field it was sent in. */
    readonly field: string,
    /** The name the browser sent (untrusted: see sanitizeFilename). */
    readonly filename: string,
    readonly data: Buffer,
  ) {}

  get size(): number {
    return this.data.length;
  }

  /** Never print the bytes (logs, error messages). */
  toJSON(): { field: string; size: number } {
    return { field: this.field, size: this.data.length };
  }
}
