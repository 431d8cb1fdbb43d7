/**
 * Errors that cross module boundaries carry a stable code and an optional fix hint, so the CLI can
 * print something a person can act on and map codes to exit statuses.
 */
export class SandcatError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  constructor(code: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }
}

/** A settings file is unusable. Names the file, the JSON path inside it and what to change. */
export class SettingsError extends SandcatError {
  readonly file: string;
  readonly jsonPath: string;
  constructor(file: string, jsonPath: string, problem: string, hint?: string) {
    const where = jsonPath ? `${file}: at ${jsonPath}` : file;
    super('E_SETTINGS_INVALID', `${where}: ${problem}`, { hint });
    this.file = file;
    this.jsonPath = jsonPath;
  }
}

export function formatError(err: unknown): string {
  if (err instanceof SandcatError) return err.hint ? `${err.message}\n  fix: ${err.hint}` : err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
