// API errors that map to Kubernetes `Status` objects.
export type Reason = 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Invalid' | 'BadRequest' | 'Forbidden' | 'Unauthorized' | 'MethodNotAllowed' | 'Expired' | 'UnsupportedMediaType' | 'InternalError' | 'Gone' | 'RequestEntityTooLarge';

const CODES: Record<Reason, number> = {
  NotFound: 404, AlreadyExists: 409, Conflict: 409, Invalid: 422, BadRequest: 400, Forbidden: 403,
  Unauthorized: 401, MethodNotAllowed: 405, Expired: 410, Gone: 410, UnsupportedMediaType: 415, InternalError: 500, RequestEntityTooLarge: 413,
};

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: { reason?: string; message: string; field?: string }[];
}

export class ApiError extends Error {
  readonly code: number;
  constructor(readonly reason: Reason, message: string, readonly details?: StatusDetails) {
    super(message);
    this.code = CODES[reason];
  }

  toStatus(): Record<string, unknown> {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

export const notFound = (kind: string, resource: string, name: string, group = ''): ApiError =>
  new ApiError('NotFound', `${resource}${group ? `.${group}` : ''} "${name}" not found`, { name, group, kind: resource });
