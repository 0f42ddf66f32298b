// The errors bad request bodies are answered with (400, or 413 for a limit passed), and the field count limit.

/** Most fields (name=value pairs, multipart parts) one post may carry. */
export const MAX_PAIRS = 2000;

export class BadInputError extends Error {
  readonly statusCode = 400;
  readonly code = 'E_BAD_INPUT';
  constructor(message: string) {
    super(message);
    this.name = 'BadInputError';
  }
}

/** An upload over one of its limits: 413 with a code and the limit, and nothing is stored. */
export class UploadError extends Error {
  readonly statusCode = 413;
  constructor(
    readonly code: 'E_FILE_TOO_LARGE' | 'E_TOO_MANY_FILES' | 'E_UPLOAD_TOO_LARGE' | 'E_FIELD_TOO_LARGE',
    /** The limit that was passed (bytes, or a count of files). */
    readonly limit: number,
    /** The field concerned, when there is one. */
    readonly field?: string,
  ) {
    super(`${code}${field ? ` (${field.slice(0, 40)})` : ''}: over the limit of ${limit}`);
    this.name = 'UploadError';
  }
}
