import { z } from 'zod';

// The one door to the server's JSON API. Every call goes through request():
// same-origin relative URLs, the { data } / { error: { code, message } }
// envelope unwrapped, the payload validated with zod, and every failure turned
// into an ApiError whose message a person can read.

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }

  /** 4xx: asking again will not help. */
  get isClientError(): boolean {
    return this.status >= 400 && this.status < 500;
  }
}

const errorEnvelopeSchema = z.object({
  error: z.object({ code: z.string(), message: z.string().optional() }),
});

// What to tell a person for a given error code, where the server's own
// message is written for developers.
const FRIENDLY: Record<string, string> = {
  rate_limited: 'Too many requests in a short time. Wait a moment and try again.',
  not_found: 'That video does not exist (it may have been deleted).',
  invalid_id: 'That video does not exist: the link looks wrong.',
  file_too_large: 'This file is larger than the server accepts.',
  unsupported_media: 'This file is not a video the server can read.',
  unsupported_type: 'Only MP4, MOV, AVI, WebM, Ogg and MKV videos are accepted.',
  invalid_signature: 'The upload link is no longer valid. Start the upload again.',
  expired: 'The upload link expired. Start the upload again.',
  unauthenticated: 'You need to sign in to do that.',
  csrf_rejected: 'The server refused a request from this page. Reload the page and try again.',
  invalid_playback_token: 'The playback link expired. Reload the page to keep watching.',
};

// Codes whose server message is already meant for people (and, for sign-in,
// deliberately generic): shown as the server words them.
const SERVER_WORDED = new Set(['invalid_credentials', 'registration_failed', 'registration_closed']);

export function friendlyMessage(status: number, code: string, serverMessage?: string): string {
  if (SERVER_WORDED.has(code) && serverMessage) return sentence(serverMessage);
  if (FRIENDLY[code]) {
    // The size limit is in the server's message; keep it when there is one.
    if (code === 'file_too_large' && serverMessage) return `This file is too large: ${serverMessage}.`;
    return FRIENDLY[code];
  }
  if (status === 429) return FRIENDLY.rate_limited;
  if (status === 404) return FRIENDLY.not_found;
  if (status === 403) return FRIENDLY.invalid_signature;
  if (status >= 500) return 'The server had a problem. Try again in a moment.';
  if (serverMessage) return sentence(serverMessage);
  return `The request failed (HTTP ${status}).`;
}

const sentence = (m: string) => m.charAt(0).toUpperCase() + m.slice(1);

/** Builds an ApiError from a failed response's status and body text. */
export function errorFromResponse(status: number, bodyText: string): ApiError {
  let code = `http_${status}`;
  let serverMessage: string | undefined;
  try {
    const parsed = errorEnvelopeSchema.safeParse(JSON.parse(bodyText));
    if (parsed.success) {
      code = parsed.data.error.code;
      serverMessage = parsed.data.error.message;
    }
  } catch {
    // not JSON: keep the HTTP status as the code
  }
  return new ApiError(status, code, friendlyMessage(status, code, serverMessage));
}

export const networkError = () =>
  new ApiError(0, 'network', 'Cannot reach the server. Check your connection and try again.');

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

interface RequestOptions {
  method?: Method;
  body?: unknown;
  signal?: AbortSignal;
  query?: Record<string, string | number | undefined | null>;
}

export function buildUrl(path: string, query?: RequestOptions['query']): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

async function send(path: string, opts: RequestOptions): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(buildUrl(path, opts.query), {
      method: opts.method ?? 'GET',
      headers: opts.body !== undefined ? { 'Content-Type': 'application/json', Accept: 'application/json' } : { Accept: 'application/json' },
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
      signal: opts.signal,
      // The session is an HttpOnly cookie: sent on same-origin requests, never to other sites.
      credentials: 'same-origin',
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw networkError();
  }
  const text = await res.text();
  if (!res.ok) throw errorFromResponse(res.status, text);
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(res.status, 'bad_response', 'The server sent an answer this page cannot read.');
  }
}

function validate<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, value: unknown, path: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    console.error(`unexpected response from ${path}`, parsed.error.issues);
    throw new ApiError(200, 'bad_response', 'The server sent an answer this page cannot read.');
  }
  return parsed.data;
}

/** Requests `path` and returns the envelope's `data`, validated by `schema`. */
export async function request<T>(path: string, schema: z.ZodType<T, z.ZodTypeDef, unknown>, opts: RequestOptions = {}): Promise<T> {
  const json = await send(path, opts);
  const envelope = validate(z.object({ data: z.unknown() }), json, path);
  return validate(schema, envelope.data, path);
}

/** Requests a list endpoint and returns the whole `{ data, pagination }`. */
export async function requestPage<T>(path: string, schema: z.ZodType<T, z.ZodTypeDef, unknown>, opts: RequestOptions = {}): Promise<T> {
  const json = await send(path, opts);
  return validate(schema, json, path);
}

export const apiClient = {
  get: <T>(path: string, schema: z.ZodType<T, z.ZodTypeDef, unknown>, query?: RequestOptions['query'], signal?: AbortSignal) =>
    request(path, schema, { query, signal }),
  post: <T>(path: string, schema: z.ZodType<T, z.ZodTypeDef, unknown>, body?: unknown, signal?: AbortSignal) =>
    request(path, schema, { method: 'POST', body: body ?? {}, signal }),
  put: <T>(path: string, schema: z.ZodType<T, z.ZodTypeDef, unknown>, body: unknown) => request(path, schema, { method: 'PUT', body }),
  delete: (path: string) => send(path, { method: 'DELETE' }).then(() => undefined),
  page: <T>(path: string, schema: z.ZodType<T, z.ZodTypeDef, unknown>, query?: RequestOptions['query'], signal?: AbortSignal) =>
    requestPage(path, schema, { query, signal }),
};

/** A message for any thrown value, for error states in the UI. */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error && e.message) return e.message;
  return 'Something went wrong.';
}
