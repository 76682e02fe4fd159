// API errors that map to Kubernetes `Status` objects.
import type { AmbitCode } from '../../lib/errors.js';

export type Reason = 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Invalid' | 'BadRequest' | 'Forbidden' | 'Unauthorized' | 'MethodNotAllowed' | 'Expired' | 'UnsupportedMediaType' | 'InternalError' | 'Gone' | 'RequestEntityTooLarge';

const CODES: Record<Reason, number> = {
  NotFound: 404, AlreadyExists: 409, Conflict: 409, Invalid: 422, BadRequest: 400, Forbidden: 403,
  Unauthorized: 401, MethodNotAllowed: 405, Expired: 410, Gone: 410, UnsupportedMediaType: 415, InternalError: 500, RequestEntityTooLarge: 413,
};

/** Our stable code per reason (docs/errors.md); the Kubernetes reason and HTTP code stay as they are. */
const AMBIT_CODES: Record<Reason, AmbitCode> = {
  NotFound: 'AMBIT_E_API_NOT_FOUND', AlreadyExists: 'AMBIT_E_API_ALREADY_EXISTS', Conflict: 'AMBIT_E_API_CONFLICT', Invalid: 'AMBIT_E_API_INVALID',
  BadRequest: 'AMBIT_E_API_BAD_REQUEST', Forbidden: 'AMBIT_E_API_FORBIDDEN', Unauthorized: 'AMBIT_E_API_UNAUTHORIZED', MethodNotAllowed: 'AMBIT_E_API_METHOD_NOT_ALLOWED',
  Expired: 'AMBIT_E_API_EXPIRED', Gone: 'AMBIT_E_API_EXPIRED', UnsupportedMediaType: 'AMBIT_E_API_UNSUPPORTED_MEDIA_TYPE', InternalError: 'AMBIT_E_API_INTERNAL',
  RequestEntityTooLarge: 'AMBIT_E_API_TOO_LARGE',
};

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: { reason?: string; message: string; field?: string }[];
}

export class ApiError extends Error {
  readonly code: number;
  readonly ambitCode: AmbitCode;
  constructor(readonly reason: Reason, message: string, readonly details?: StatusDetails) {
    super(message);
    this.code = CODES[reason];
    this.ambitCode = AMBIT_CODES[reason];
  }

  toStatus(): Record<string, unknown> {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      // Only into details that exist: clients ignore an unknown field there, but kubectl words an
      // Invalid error by details.kind/name when details are present, so none are made up.
      ...(this.details ? { details: { ...this.details, ambitCode: this.ambitCode } } : {}),
      code: this.code,
    };
  }
}

export const notFound = (kind: string, resource: string, name: string, group = ''): ApiError =>
  new ApiError('NotFound', `${resource}${group ? `.${group}` : ''} "${name}" not found`, { name, group, kind: resource });
