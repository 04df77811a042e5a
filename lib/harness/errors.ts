/**
 * Raised when a local service cannot be started because something is not installed.
 * The message is one sentence telling the user what to install.
 */
export class PrerequisiteMissingError extends Error {
  readonly code = 'PrerequisiteMissing';
  constructor(message: string) {
    super(message);
    this.name = 'PrerequisiteMissingError';
  }
}

/** Raised when a started service does not become healthy in time. */
export class ServiceStartError extends Error {
  readonly code = 'ServiceStartFailed';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ServiceStartError';
  }
}
